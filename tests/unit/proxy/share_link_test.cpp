#include "proxy/share_link.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/profiles.h"
#include "proxy/qr_code.h"

namespace ferry::proxy {
namespace {

ListenerConfig listener(const char* listen, bool tls, bool accept_proxy, const char* upstream) {
  ListenerConfig l;
  l.listen = *net::HostPort::parse(listen);
  l.name = listen;
  l.tls = tls;
  l.accept_proxy = accept_proxy;
  l.upstream = upstream;
  return l;
}

// The listeners of WhatsApp's proxy, in the order of its HAProxy config:
// accept_proxy twins first, so picking them by mistake would show.
Config whatsapp_like() {
  Config c;
  c.share_link = ShareLink::whatsapp;
  c.listeners = {
      listener("[::]:8080", false, true, "chat_http"),
      listener("[::]:80", false, false, "chat_http"),
      listener("[::]:8443", true, true, "chat"),
      listener("[::]:443", true, false, "chat"),
      listener("[::]:8222", false, true, "chat"),
      listener("[::]:5222", false, false, "chat"),
      listener("[::]:587", false, false, "media"),
      listener("[::]:7777", false, false, "media"),
  };
  return c;
}

Config ferry_like() {
  Config c;
  c.share_link = ShareLink::ferry;
  c.listeners = {
      listener("[::]:8443", true, true, "ferry"),
      listener("[::]:8080", false, false, "ferry"),
      listener("[::]:443", true, false, "ferry"),
  };
  return c;
}

TEST(ShareLink, WhatsappLinkUsesTheFirstDirectTlsChatAndMediaPorts) {
  const Config c = whatsapp_like();
  EXPECT_EQ(whatsapp_link(c, "203.0.113.7"),
            "https://wa.me/proxy?host=203.0.113.7&chatPort=443&mediaPort=587&chatTLS=true");
  EXPECT_EQ(share_link(c, "proxy.example.org"),
            "https://wa.me/proxy?host=proxy.example.org&chatPort=443&mediaPort=587&chatTLS=true");
}

TEST(ShareLink, WhatsappLinkFallsBackToPlainChatAndLeavesOutWhatIsMissing) {
  Config c = whatsapp_like();
  std::erase_if(c.listeners, [](const ListenerConfig& l) { return l.tls; });
  EXPECT_EQ(whatsapp_link(c, "203.0.113.7"),
            "https://wa.me/proxy?host=203.0.113.7&chatPort=5222&mediaPort=587&chatTLS=false");
  std::erase_if(c.listeners, [](const ListenerConfig& l) { return l.upstream == "media"; });
  EXPECT_EQ(whatsapp_link(c, "203.0.113.7"),
            "https://wa.me/proxy?host=203.0.113.7&chatPort=5222&chatTLS=false");

  Config media_only = whatsapp_like();
  std::erase_if(media_only.listeners, [](const ListenerConfig& l) { return l.upstream == "chat"; });
  EXPECT_EQ(whatsapp_link(media_only, "203.0.113.7"),
            "https://wa.me/proxy?host=203.0.113.7&mediaPort=587");

  // Only listeners behind a PROXY-speaking balancer: nothing a user can reach.
  Config behind = whatsapp_like();
  std::erase_if(behind.listeners, [](const ListenerConfig& l) { return !l.accept_proxy; });
  EXPECT_EQ(whatsapp_link(behind, "203.0.113.7"), "");
  EXPECT_EQ(whatsapp_link(whatsapp_like(), ""), "");
}

TEST(ShareLink, FerryLinkPrefersTlsThenPlain) {
  const Config c = ferry_like();
  EXPECT_EQ(share_link(c, "203.0.113.7"), "ferry://proxy?host=203.0.113.7&port=443&tls=1");
  Config plain = c;
  std::erase_if(plain.listeners, [](const ListenerConfig& l) { return l.tls; });
  EXPECT_EQ(ferry_link(plain, "203.0.113.7"), "ferry://proxy?host=203.0.113.7&port=8080&tls=0");
  plain.listeners.clear();
  EXPECT_EQ(ferry_link(plain, "203.0.113.7"), "");
}

TEST(ShareLink, BuiltInProfilesGiveTheLinksOfTheIssue) {
  auto text = profile_text("whatsapp");
  ASSERT_TRUE(text);
  auto parsed = parse_config(*text, "profile:whatsapp");
  ASSERT_TRUE(std::holds_alternative<Config>(parsed)) << std::get<ConfigError>(parsed).to_string();
  EXPECT_EQ(share_link(std::get<Config>(parsed), "203.0.113.7"),
            "https://wa.me/proxy?host=203.0.113.7&chatPort=443&mediaPort=587&chatTLS=true");

  text = profile_text("ferry");
  ASSERT_TRUE(text);
  parsed = parse_config(*text, "profile:ferry");
  ASSERT_TRUE(std::holds_alternative<Config>(parsed)) << std::get<ConfigError>(parsed).to_string();
  EXPECT_EQ(share_link(std::get<Config>(parsed), "203.0.113.7"),
            "ferry://proxy?host=203.0.113.7&port=443&tls=1");
}

TEST(ShareLink, NoneGivesNoLink) {
  Config c = whatsapp_like();
  c.share_link = ShareLink::none;
  EXPECT_EQ(share_link(c, "203.0.113.7"), "");
}

TEST(ShareLink, HostsAreBracketedAndEncoded) {
  EXPECT_EQ(link_host("2001:db8::1"), "%5B2001:db8::1%5D");
  EXPECT_EQ(link_host("[2001:db8::1]"), "%5B2001:db8::1%5D");
  EXPECT_EQ(link_host("proxy.example.org"), "proxy.example.org");
  EXPECT_EQ(link_host("a b&c=d?#/é"), "a%20b%26c%3Dd%3F%23%2F%C3%A9");
  EXPECT_EQ(ferry_link(ferry_like(), "::1"), "ferry://proxy?host=%5B::1%5D&port=443&tls=1");
}

// ------------------------------------------------------------------ QR

// Splits a rendering into lines of cells (one UTF-8 character each), with
// the ANSI codes checked and removed.
std::vector<std::vector<std::string>> cells_of(const std::string& text, bool ansi) {
  std::vector<std::vector<std::string>> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (ansi) {
      const std::string on = "\x1b[30;107m", off = "\x1b[0m";
      EXPECT_TRUE(line.starts_with(on) && line.ends_with(off)) << line;
      line = line.substr(on.size(), line.size() - on.size() - off.size());
    }
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
    std::vector<std::string> cells;
    for (size_t i = 0; i < line.size();) {
      const size_t n = (static_cast<unsigned char>(line[i]) < 0x80) ? 1 : 3;
      cells.push_back(line.substr(i, n));
      i += n;
    }
    lines.push_back(cells);
  }
  return lines;
}

// Which halves of a cell are drawn in the foreground colour.
std::pair<bool, bool> halves(const std::string& cell) {
  if (cell == " ") return {false, false};
  if (cell == "\u2580") return {true, false};
  if (cell == "\u2584") return {false, true};
  EXPECT_EQ(cell, "\u2588");
  return {true, true};
}

TEST(QrCode, MatrixSizeMatchesItsVersion) {
  const std::string link =
      "https://wa.me/proxy?host=203.0.113.7&chatPort=443&mediaPort=587&chatTLS=true";
  auto m = encode_qr(link);
  ASSERT_TRUE(m);
  EXPECT_GE(m->version, 1);
  EXPECT_LE(m->version, 40);
  EXPECT_EQ(m->size, 17 + 4 * m->version);
  EXPECT_EQ(m->dark.size(), static_cast<size_t>(m->size * m->size));
  // Level M holds 62 bytes in version 4 (byte mode, which lower-case text
  // needs throughout): 62 letters fit in version 4, 63 need version 5.
  EXPECT_EQ(encode_qr(std::string(62, 'q'))->version, 4);
  EXPECT_EQ(encode_qr(std::string(63, 'q'))->version, 5);
  // Finder patterns: the three 7x7 corners have dark outer rings.
  for (int i = 0; i < 7; ++i) {
    EXPECT_TRUE(m->at(i, 0) && m->at(0, i) && m->at(m->size - 1 - i, 0) && m->at(i, m->size - 1));
  }
  EXPECT_FALSE(m->at(1, 1));
  EXPECT_TRUE(m->at(3, 3));
  EXPECT_FALSE(encode_qr(std::string(4000, 'x')));
}

TEST(QrCode, RenderingIsSquareWithAQuietZoneAndShowsEveryModule) {
  auto m = encode_qr("ferry://proxy?host=203.0.113.7&port=443&tls=1");
  ASSERT_TRUE(m);
  const int total = m->size + 2 * kQrQuietZone;
  for (QrColors colors : {QrColors::ansi, QrColors::plain}) {
    const bool ansi = colors == QrColors::ansi;
    const auto lines = cells_of(render_qr(*m, colors), ansi);
    // Square in modules: `total` columns, two module rows per line.
    ASSERT_EQ(lines.size(), static_cast<size_t>((total + 1) / 2));
    for (const auto& line : lines) ASSERT_EQ(line.size(), static_cast<size_t>(total));
    // Decode the halves back to modules and compare with the matrix; the
    // quiet zone (and the half row past an odd total) must be light.
    for (int y = 0; y < total + 1 - (total % 2 == 0); ++y) {
      for (int x = 0; x < total; ++x) {
        auto [top, bottom] = halves(lines[static_cast<size_t>(y / 2)][static_cast<size_t>(x)]);
        const bool ink = (y % 2 == 0) ? top : bottom;
        const bool dark = ansi ? ink : !ink;
        const int mx = x - kQrQuietZone, my = y - kQrQuietZone;
        const bool inside = mx >= 0 && my >= 0 && mx < m->size && my < m->size;
        EXPECT_EQ(dark, inside && m->at(mx, my)) << x << "," << y;
      }
    }
  }
  EXPECT_EQ(qr_for_terminal("x", QrColors::plain), render_qr(*encode_qr("x"), QrColors::plain));
  EXPECT_EQ(qr_for_terminal(std::string(4000, 'x')), "");
}

}  // namespace
}  // namespace ferry::proxy
