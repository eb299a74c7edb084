// The built-in profiles: both parse, and whatsapp is WhatsApp's proxy exactly
// (the table in issue 2), ferry is the Ferry messenger's front.
#include "proxy/profiles.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <tuple>

namespace ferry::proxy {
namespace {

using namespace std::chrono_literals;

Config load(std::string_view name) {
  ConfigResult r = load_profile(name);
  if (auto* e = std::get_if<ConfigError>(&r)) {
    ADD_FAILURE() << e->to_string();
    return Config{};
  }
  return std::get<Config>(std::move(r));
}

// One row of the table: port, TLS, accepts PROXY, upstream server, sends PROXY.
using Row = std::tuple<uint16_t, bool, bool, std::string, ProxyHeader>;

std::vector<Row> table_of(const Config& c) {
  std::vector<Row> rows;
  for (const ListenerConfig& l : c.listeners) {
    const UpstreamConfig& u = c.upstreams.at(l.upstream);
    EXPECT_EQ(u.servers.size(), 1u) << l.upstream;
    rows.emplace_back(l.listen.port, l.tls, l.accept_proxy, u.servers.at(0).to_string(),
                      u.send_proxy);
  }
  return rows;
}

TEST(Profiles, BuiltInNamesAndTexts) {
  EXPECT_EQ(profile_names(), (std::vector<std::string_view>{"ferry", "whatsapp"}));
  EXPECT_EQ(kDefaultProfile, "whatsapp");
  ASSERT_TRUE(profile_text(kDefaultProfile));
  EXPECT_NE(profile_text("whatsapp")->find("[[listener]]"), std::string_view::npos);
  EXPECT_FALSE(profile_text("haproxy"));
  EXPECT_FALSE(profile_text(""));
}

TEST(Profiles, UnknownProfileIsAConfigErrorListingTheKnownOnes) {
  ConfigResult r = load_profile("telegram");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_EQ(std::get<ConfigError>(r).to_string(),
            "profile:telegram: no such profile (built in: ferry, whatsapp)");
}

TEST(Profiles, WhatsappIsWhatsAppsProxyPortForPort) {
  Config c = load("whatsapp");
  EXPECT_EQ(c.source, "profile:whatsapp");
  const ProxyHeader v1 = ProxyHeader::v1, none = ProxyHeader::none;
  EXPECT_EQ(table_of(c), (std::vector<Row>{
                             {80, false, false, "g.whatsapp.net:80", v1},
                             {8080, false, true, "g.whatsapp.net:80", v1},
                             {443, true, false, "g.whatsapp.net:5222", v1},
                             {8443, true, true, "g.whatsapp.net:5222", v1},
                             {5222, false, false, "g.whatsapp.net:5222", v1},
                             {8222, false, true, "g.whatsapp.net:5222", v1},
                             {587, false, false, "whatsapp.net:443", none},
                             {7777, false, false, "whatsapp.net:443", none},
                         }));
  for (const ListenerConfig& l : c.listeners) {
    EXPECT_EQ(l.listen.host, "::") << l.name << " is not dual-stack";
    EXPECT_EQ(l.name, l.listen.to_string());
    EXPECT_EQ(l.max_connections, 0u);
  }
  EXPECT_EQ(c.upstreams.size(), 3u);
  EXPECT_EQ(c.upstreams.at("chat").servers[0].to_string(), "g.whatsapp.net:5222");
  EXPECT_EQ(c.upstreams.at("web").servers[0].to_string(), "g.whatsapp.net:80");
  EXPECT_EQ(c.upstreams.at("media").servers[0].to_string(), "whatsapp.net:443");
  for (const auto& [name, u] : c.upstreams) {
    EXPECT_EQ(u.health_check_interval, 60s) << name;
  }
  EXPECT_TRUE(c.stats.enabled);
  EXPECT_EQ(c.stats.listen.to_string(), "127.0.0.1:8199");
  EXPECT_EQ(c.max_connections, 27'500u);
  EXPECT_EQ(c.limits.connect_timeout, 5s);
  EXPECT_EQ(c.limits.idle_timeout, 200s);
  EXPECT_EQ(c.limits.fin_timeout, 1s);
  EXPECT_EQ(c.share_link, ShareLink::whatsapp);
  EXPECT_EQ(c.public_host, "");
  EXPECT_TRUE(c.tls.cert.empty() && c.tls.key.empty()) << "self-signed, generated at start";
}

TEST(Profiles, FerryFrontsAFerryServerWithProxyV2) {
  Config c = load("ferry");
  EXPECT_EQ(c.source, "profile:ferry");
  const ProxyHeader v2 = ProxyHeader::v2;
  EXPECT_EQ(table_of(c), (std::vector<Row>{
                             {443, true, false, "127.0.0.1:7000", v2},
                             {5222, false, false, "127.0.0.1:7000", v2},
                         }));
  for (const ListenerConfig& l : c.listeners) {
    EXPECT_EQ(l.listen.host, "::");
    EXPECT_EQ(l.upstream, "ferry");
  }
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_TRUE(c.upstreams.contains("ferry"));
  EXPECT_EQ(c.share_link, ShareLink::ferry);
  EXPECT_EQ(c.stats.listen.to_string(), "127.0.0.1:8199");
}

}  // namespace
}  // namespace ferry::proxy
