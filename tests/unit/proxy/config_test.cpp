// parse_config() on valid input: defaults, every key, file loading.
#include "proxy/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "config_test_util.h"

namespace ferry::proxy {
namespace {

using namespace std::chrono_literals;
using testing::kMinimalListenerAndUpstream;
using testing::parse_error;
using testing::parse_ok;

// Every key set, none to its default.
constexpr std::string_view kEveryKey = R"(max_connections = 1000
public_host = "proxy.example.org"
share_link = "ferry"
drain_timeout = "45s"
log_client_addresses = true
log_level = "debug"
workers = 3
cpu_affinity = "auto"
io_uring = "off"
user = "ferry"

[stats]
enabled = false
listen = "[::1]:9100"

[limits]
connect_timeout = "2s"
idle_timeout = "5m"
handshake_timeout = "1500ms"
fin_timeout = "3s"
per_ip_connections = 20
per_ip_new_per_second = 5

[tls]
cert = "/etc/ferry/cert.pem"
key = "/etc/ferry/key.pem"
key_type = "rsa-4096"
san_dns = ["proxy.example.org", "*.example.net"]
san_ip = ["203.0.113.7", "2001:db8::7"]

[[listener]]
name = "chat-tls"
listen = "0.0.0.0:443"
tls = true
accept_proxy = true
upstream = "chat"
max_connections = 500

[[listener]]
listen = "[2001:db8::1]:443"
upstream = "media"

[upstream.chat]
servers = ["chat.example.org:5222", "[2001:db8::2]:5222", "192.0.2.3:5222"]
send_proxy = "v2"
health_check_interval = "0s"
resolve_interval = "2m"

[upstream.media]
servers = ["media.example.org:443"]
send_proxy = "v1"
health_check_interval = "1h"
resolve_interval = "0s"
)";

TEST(ConfigParse, MinimalConfigGetsDocumentedDefaults) {
  Config c = parse_ok(kMinimalListenerAndUpstream);
  EXPECT_EQ(c.source, "test.toml");
  EXPECT_EQ(c.max_connections, 27'500u);
  EXPECT_EQ(c.public_host, "");
  EXPECT_EQ(c.share_link, ShareLink::none);
  EXPECT_EQ(c.drain_timeout, 30s);
  EXPECT_FALSE(c.log_client_addresses);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.cpu_affinity, CpuAffinity::none);
  EXPECT_EQ(c.io_uring, IoUring::automatic);
  EXPECT_EQ(c.user, "");
  EXPECT_TRUE(c.stats.enabled);
  EXPECT_EQ(c.stats.listen, (net::HostPort{"127.0.0.1", 8199}));
  EXPECT_EQ(c.limits.connect_timeout, 5s);
  EXPECT_EQ(c.limits.idle_timeout, 200s);
  EXPECT_EQ(c.limits.handshake_timeout, 10s);
  EXPECT_EQ(c.limits.fin_timeout, 1s);
  EXPECT_EQ(c.limits.per_ip_connections, 0u);
  EXPECT_EQ(c.limits.per_ip_new_per_second, 0u);
  EXPECT_EQ(c.tls, TlsConfig{});
  EXPECT_EQ(c.tls.key_type, KeyType::ecdsa_p256);

  ASSERT_EQ(c.listeners.size(), 1u);
  const ListenerConfig& l = c.listeners[0];
  EXPECT_EQ(l.name, "[::]:443");
  EXPECT_EQ(l.listen, (net::HostPort{"::", 443}));
  EXPECT_FALSE(l.tls);
  EXPECT_FALSE(l.accept_proxy);
  EXPECT_EQ(l.upstream, "chat");
  EXPECT_EQ(l.max_connections, 0u);
  EXPECT_EQ(l.line, 1);

  ASSERT_EQ(c.upstreams.size(), 1u);
  const UpstreamConfig& u = c.upstreams.at("chat");
  EXPECT_EQ(u.name, "chat");
  EXPECT_EQ(u.servers, (std::vector<net::HostPort>{{"g.whatsapp.net", 5222}}));
  EXPECT_EQ(u.send_proxy, ProxyHeader::none);
  EXPECT_EQ(u.health_check_interval, 60s);
  EXPECT_EQ(u.resolve_interval, 60s);
}

TEST(ConfigParse, ReadsEveryKey) {
  Config c = parse_ok(kEveryKey);
  EXPECT_EQ(c.max_connections, 1000u);
  EXPECT_EQ(c.public_host, "proxy.example.org");
  EXPECT_EQ(c.share_link, ShareLink::ferry);
  EXPECT_EQ(c.drain_timeout, 45s);
  EXPECT_TRUE(c.log_client_addresses);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.cpu_affinity, CpuAffinity::automatic);
  EXPECT_EQ(c.io_uring, IoUring::off);
  EXPECT_EQ(c.user, "ferry");
  EXPECT_FALSE(c.stats.enabled);
  EXPECT_EQ(c.stats.listen, (net::HostPort{"::1", 9100}));
  EXPECT_EQ(c.limits.connect_timeout, 2s);
  EXPECT_EQ(c.limits.idle_timeout, 300s);
  EXPECT_EQ(c.limits.handshake_timeout, 1500ms);
  EXPECT_EQ(c.limits.fin_timeout, 3s);
  EXPECT_EQ(c.limits.per_ip_connections, 20u);
  EXPECT_EQ(c.limits.per_ip_new_per_second, 5u);
  EXPECT_EQ(c.tls.cert, "/etc/ferry/cert.pem");
  EXPECT_EQ(c.tls.key, "/etc/ferry/key.pem");
  EXPECT_EQ(c.tls.key_type, KeyType::rsa_4096);
  EXPECT_EQ(c.tls.san_dns, (std::vector<std::string>{"proxy.example.org", "*.example.net"}));
  EXPECT_EQ(c.tls.san_ip, (std::vector<std::string>{"203.0.113.7", "2001:db8::7"}));

  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].name, "chat-tls");
  EXPECT_EQ(c.listeners[0].listen, (net::HostPort{"0.0.0.0", 443}));
  EXPECT_TRUE(c.listeners[0].tls);
  EXPECT_TRUE(c.listeners[0].accept_proxy);
  EXPECT_EQ(c.listeners[0].upstream, "chat");
  EXPECT_EQ(c.listeners[0].max_connections, 500u);
  EXPECT_EQ(c.listeners[0].line, 31);
  EXPECT_EQ(c.listeners[1].name, "[2001:db8::1]:443");
  EXPECT_EQ(c.listeners[1].upstream, "media");
  EXPECT_EQ(c.listeners[1].line, 39);

  const UpstreamConfig& chat = c.upstreams.at("chat");
  EXPECT_EQ(chat.servers,
            (std::vector<net::HostPort>{
                {"chat.example.org", 5222}, {"2001:db8::2", 5222}, {"192.0.2.3", 5222}}));
  EXPECT_EQ(chat.send_proxy, ProxyHeader::v2);
  EXPECT_EQ(chat.health_check_interval, 0ms);
  EXPECT_EQ(chat.resolve_interval, 120s);
  const UpstreamConfig& media = c.upstreams.at("media");
  EXPECT_EQ(media.send_proxy, ProxyHeader::v1);
  EXPECT_EQ(media.health_check_interval, 3600s);
  EXPECT_EQ(media.resolve_interval, 0ms);
}

TEST(ConfigParse, AcceptsInlineListenerTablesAndDottedKeys) {
  Config c = parse_ok(R"(listener = [{ listen = "127.0.0.1:8443", upstream = "x", tls = true }]
upstream.x.servers = ["[::1]:7000"]
)");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_TRUE(c.listeners[0].tls);
  EXPECT_EQ(c.upstreams.at("x").servers[0], (net::HostPort{"::1", 7000}));
}

TEST(ConfigParse, TakesNonAsciiTextInCommentsAndStrings) {
  // Operators write comments in their own language; paths may hold any letter.
  Config c = parse_ok(std::string(R"(# Прокси для всех §
[tls]
cert = "/etc/ferry/été.pem"   # сертификат
key = '''/etc/ferry/§.key'''
)") + std::string(kMinimalListenerAndUpstream));
  EXPECT_EQ(c.tls.cert, "/etc/ferry/été.pem");
  EXPECT_EQ(c.tls.key, "/etc/ferry/§.key");

  Config inline_table = parse_ok(std::string(R"(tls = { cert = "/été.pem", key = 'ключ.pem' }
)") + std::string(kMinimalListenerAndUpstream));
  EXPECT_EQ(inline_table.tls.cert, "/été.pem");
  EXPECT_EQ(inline_table.tls.key, "ключ.pem");
}

TEST(ConfigParse, DistinctAddressesOnOnePortAreNotDuplicates) {
  // Two specific addresses, one per family, share port 443 without overlap.
  Config c = parse_ok(R"([[listener]]
listen = "127.0.0.1:443"
upstream = "u"
[[listener]]
listen = "[::1]:443"
upstream = "u"
[[listener]]
listen = "192.0.2.1:443"
upstream = "u"
[upstream.u]
servers = ["127.0.0.1:7000"]
)");
  EXPECT_EQ(c.listeners.size(), 3u);
}

TEST(ConfigParse, StatsAddressMayOverlapAListenerWhenStatsAreOff) {
  parse_ok(std::string("[stats]\nenabled = false\n\n") + R"([[listener]]
listen = "[::]:8199"
upstream = "u"
[upstream.u]
servers = ["127.0.0.1:7000"]
)");
}

TEST(ConfigError, FormatsFileLineColumnKeyMessage) {
  EXPECT_EQ((ConfigError{"a.toml", 3, 7, "listener[0].tls", "expected a boolean"}).to_string(),
            "a.toml:3:7: listener[0].tls: expected a boolean");
  EXPECT_EQ((ConfigError{"a.toml", 0, 0, "listener", "no listeners"}).to_string(),
            "a.toml: listener: no listeners");
  EXPECT_EQ((ConfigError{"a.toml", 2, 1, "", "syntax"}).to_string(), "a.toml:2:1: syntax");
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "ferry_config_test_" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, std::string_view text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ConfigFile, LoadsAFileAndNamesItInErrors) {
  std::string good = write("good.toml", kMinimalListenerAndUpstream);
  ConfigResult r = load_config_file(good);
  ASSERT_TRUE(std::holds_alternative<Config>(r));
  EXPECT_EQ(std::get<Config>(r).source, good);

  std::string bad = write("bad.toml", "workers = -1\n");
  r = load_config_file(bad);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_EQ(std::get<ConfigError>(r).to_string(),
            bad + ":1:11: workers: must be between 0 and 1024");
}

TEST_F(ConfigFile, ReadFailuresAreConfigErrors) {
  std::string missing = dir_ + "/missing.toml";
  ConfigResult r = load_config_file(missing);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_EQ(std::get<ConfigError>(r).to_string(),
            missing + ": cannot read: No such file or directory");

  r = load_config_file(dir_);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_EQ(std::get<ConfigError>(r).message, "cannot read: Is a directory");
}

TEST_F(ConfigFile, RefusesOversizedFilesWithoutReadingThemWhole) {
  std::string big = write("big.toml", std::string(kMaxConfigBytes + 1, '#'));
  ConfigResult r = load_config_file(big);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_EQ(std::get<ConfigError>(r).file, big);
  EXPECT_NE(std::get<ConfigError>(r).message.find("larger than 1 MiB"), std::string::npos);
  // An endless file ends at the limit too.
  r = load_config_file("/dev/zero");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_NE(std::get<ConfigError>(r).message.find("larger than 1 MiB"), std::string::npos);
}

}  // namespace
}  // namespace ferry::proxy
