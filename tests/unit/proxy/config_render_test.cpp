// render_config() writes TOML that parse_config() reads back to an equal
// Config, for the built-in profiles and for a config that sets every key.
#include <gtest/gtest.h>

#include <string>

#include "config_test_util.h"
#include "proxy/config.h"
#include "proxy/profiles.h"

namespace ferry::proxy {
namespace {

using testing::parse_ok;

// Renders, re-parses, and checks the result equals `c` and renders the same.
void expect_round_trip(const Config& c) {
  std::string text = render_config(c);
  Config again = parse_ok(text, "rendered.toml");
  EXPECT_EQ(again, c) << text;
  EXPECT_EQ(render_config(again), text);
}

TEST(ConfigRender, RoundTripsEveryProfile) {
  ASSERT_FALSE(profile_names().empty());
  for (std::string_view name : profile_names()) {
    SCOPED_TRACE(std::string(name));
    ConfigResult r = load_profile(name);
    ASSERT_TRUE(std::holds_alternative<Config>(r)) << std::get<ConfigError>(r).to_string();
    expect_round_trip(std::get<Config>(r));
  }
}

TEST(ConfigRender, RoundTripsEveryKeySetAwayFromItsDefault) {
  Config c = parse_ok(R"(max_connections = 1000
public_host = "2001:db8::7"
share_link = "whatsapp"
drain_timeout = "0s"
log_client_addresses = true
log_level = "error"
workers = 8
user = "nobody"
[stats]
enabled = false
listen = "[::1]:9100"
[limits]
connect_timeout = "1500ms"
idle_timeout = "1h"
handshake_timeout = "3s"
fin_timeout = "250ms"
per_ip_connections = 7
per_ip_new_per_second = 9
[tls]
cert = "/etc/ferry/c \"quoted\" \\ \u00e9.pem"
key = "relative/key.pem"
key_type = "rsa-2048"
san_dns = ["a.example", "*.b.example"]
san_ip = ["::1", "192.0.2.1"]
[[listener]]
name = "tls-in"
listen = "[0:0::0]:0443"
tls = true
accept_proxy = true
upstream = "a-1"
max_connections = 12
[[listener]]
listen = "[::ffff:192.0.2.9]:80"
upstream = "b_2"
[upstream.a-1]
servers = ["x.example:1", "[2001:db8::1]:2", "192.0.2.5:3"]
send_proxy = "v2"
health_check_interval = "0s"
resolve_interval = "0s"
[upstream.b_2]
servers = ["y.example:65535"]
send_proxy = "v1"
health_check_interval = "90s"
resolve_interval = "1m"
)");
  expect_round_trip(c);
  EXPECT_EQ(c.listeners[0].name, "tls-in");
  // The default name is the listen text as written, so it survives re-rendering.
  EXPECT_EQ(c.listeners[1].name, "[::ffff:192.0.2.9]:80");
}

TEST(ConfigRender, KeepsDefaultNamesWrittenDifferentlyFromTheirAddress) {
  // "0443" parses to port 443; the name stays the text as written.
  Config c = parse_ok(R"([[listener]]
listen = "127.0.0.1:0443"
upstream = "u"
[upstream.u]
servers = ["127.0.0.1:1"]
)");
  EXPECT_EQ(c.listeners[0].name, "127.0.0.1:0443");
  expect_round_trip(c);
}

TEST(ConfigRender, CommentsEverySection) {
  ConfigResult r = load_profile("whatsapp");
  ASSERT_TRUE(std::holds_alternative<Config>(r));
  std::string text = render_config(std::get<Config>(r));
  for (std::string_view header :
       {"[stats]", "[limits]", "[tls]", "[[listener]]", "[upstream.chat]"}) {
    size_t at = text.find(std::string("\n") + std::string(header) + "\n");
    ASSERT_NE(at, std::string::npos) << header;
    // The line above the section's first header is a comment, unless it is
    // another listener or upstream right after a blank line.
    size_t prev = text.rfind('\n', at - 1);
    ASSERT_NE(prev, std::string::npos);
    std::string_view above(text.data() + prev + 1, at - prev - 1);
    EXPECT_TRUE(above.starts_with("# ")) << header << " has above it: " << above;
  }
}

TEST(ConfigRender, WritesOutDefaultsSoTheOutputIsATemplate) {
  Config c = parse_ok(testing::kMinimalListenerAndUpstream);
  std::string text = render_config(c);
  for (std::string_view line :
       {"max_connections = 27500", "drain_timeout = \"30s\"", "listen = \"127.0.0.1:8199\"",
        "idle_timeout = \"200s\"", "handshake_timeout = \"10s\"", "key_type = \"ecdsa-p256\"",
        "send_proxy = \"none\"", "health_check_interval = \"1m\""}) {
    EXPECT_NE(text.find(std::string("\n") + std::string(line) + "\n"), std::string::npos)
        << line << "\n"
        << text;
  }
}

TEST(ConfigValidate, JudgesAChangedConfigByTheFileRules) {
  ConfigResult r = load_profile("ferry");
  ASSERT_TRUE(std::holds_alternative<Config>(r));
  Config c = std::get<Config>(r);
  EXPECT_FALSE(validate_config(c).has_value());

  Config bad_server = c;
  bad_server.upstreams.at("ferry").servers = {{"0.0.0.0", 7000}};
  auto e = validate_config(bad_server);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->to_string(),
            "profile:ferry: upstream.ferry.servers[0]: the unspecified address cannot be dialled");

  Config bad_host = c;
  bad_host.public_host = "proxy.example.org/x";
  e = validate_config(bad_host);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, "public_host");
  EXPECT_EQ(e->line, 0);

  Config bad_user = c;
  bad_user.user = "--root";
  e = validate_config(bad_user);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, "user");
}

}  // namespace
}  // namespace ferry::proxy
