// Every class of bad config is refused with the line, column and dotted key
// of the value at fault.
#include <gtest/gtest.h>

#include <string>

#include "config_test_util.h"
#include "proxy/config.h"

namespace ferry::proxy {
namespace {

using testing::kMinimalListenerAndUpstream;
using testing::parse_error;

struct BadConfig {
  const char* what;
  std::string text;
  int line;
  int column;
  std::string key;
  std::string message;  // a part of the message
};

// Prepends `head` (top-level keys or tables before the listener) to a valid config.
std::string with(std::string_view head) {
  return std::string(head) + "\n" + std::string(kMinimalListenerAndUpstream);
}

// A config whose one listener has these extra lines (the listener starts on line 1).
std::string listener_with(std::string_view extra, std::string_view listen = "[::]:443") {
  return "[[listener]]\nlisten = \"" + std::string(listen) + "\"\nupstream = \"chat\"\n" +
         std::string(extra) + "\n[upstream.chat]\nservers = [\"g.whatsapp.net:5222\"]\n";
}

// A config whose upstream has these lines (the [upstream.chat] header is on line 4).
std::string upstream_with(std::string_view lines) {
  return "[[listener]]\nlisten = \"[::]:443\"\nupstream = \"chat\"\n[upstream.chat]\n" +
         std::string(lines) + "\n";
}

const BadConfig kBad[] = {
    // TOML syntax, positioned by toml++.
    {"syntax: value missing", with("max_connections =\n"), 1, 18, "", "expected value"},
    {"syntax: key twice", with("workers = 1\nworkers = 2"), 2, 11, "", "redefine"},
    {"syntax: invalid UTF-8", with("user = \"\xff\""), 1, 8, "", "invalid utf-8"},
    {"syntax: unterminated table", "[stats\n", 1, 7, "", ""},

    // Non-ASCII that toml++ 3.3 cannot take safely (config_text.h), refused first.
    {"non-ASCII in a bare key", "[[l\xce\x84stener]]\n", 1, 4, "",
     "non-ASCII text is allowed only in strings and comments"},
    {"non-ASCII after =", with("user = \xcc\xaa"), 1, 8, "", "only in strings and comments"},
    {"non-ASCII after a string", with("# \xc3\xa9\nuser = \"\xc3\xa9\" \xc2\xa7"), 2, 12, "",
     "only in strings and comments"},
    {"non-ASCII after a quote inside a number", with("x =6666'66\xc2\xa7 "), 1, 11, "",
     "only in strings and comments"},
    {"non-ASCII after = inside a number", with("x = 6=\"\xc2\xa7\""), 1, 8, "",
     "only in strings and comments"},
    {"non-ASCII after [ inside a number", "x = [6[\"\xc2\xa7\"]]\n", 1, 9, "",
     "only in strings and comments"},
    {"non-ASCII after a line-ending backslash",
     with("# x\npublic_host = \"\"\"\\\n  \xc2\xa7\"\"\""), 3, 3, "", "line-ending backslash"},

    // Unknown keys, at every level.
    {"unknown top-level key", with("max_conections = 5"), 1, 1, "max_conections", "unknown key"},
    {"unknown table", with("[metrics]\nlisten = \"127.0.0.1:1\""), 1, 2, "metrics", "unknown key"},
    {"unknown stats key", with("[stats]\nport = 8199"), 2, 1, "stats.port", "unknown key"},
    {"unknown limits key", with("[limits]\nread_timeout = \"5s\""), 2, 1, "limits.read_timeout",
     "unknown key"},
    {"unknown tls key", with("[tls]\nciphers = \"ALL\""), 2, 1, "tls.ciphers", "unknown key"},
    {"unknown listener key", listener_with("tsl = true"), 4, 1, "listener[0].tsl", "unknown key"},
    {"unknown upstream key", upstream_with("servers = [\"a.example:1\"]\nserver = \"b.example:1\""),
     6, 1, "upstream.chat.server", "unknown key"},
    {"first unknown key in file order", with("zzz = 1\naaa = 2"), 1, 1, "zzz", "unknown key"},
    {"unknown key lists the known ones", with("[stats]\nx = 1"), 2, 1, "stats.x",
     "expected one of: enabled, listen"},
    {"quoted unknown key shown quoted", with("\"a b\" = 1"), 1, 1, "\"a b\"", "unknown key"},

    // Wrong types.
    {"integer as string", with("max_connections = \"5\""), 1, 19, "max_connections",
     "expected an integer, found a string"},
    {"integer as float", with("workers = 2.0"), 1, 11, "workers",
     "expected an integer, found a floating-point number"},
    {"bool as string", listener_with("tls = \"yes\""), 4, 7, "listener[0].tls",
     "expected a boolean (true or false), found a string"},
    {"bool as integer", with("log_client_addresses = 1"), 1, 24, "log_client_addresses",
     "expected a boolean"},
    {"string as integer", with("public_host = 7"), 1, 15, "public_host", "expected a string"},
    {"duration as integer", with("drain_timeout = 30"), 1, 17, "drain_timeout",
     "expected a duration string"},
    {"table as value", with("stats = 1"), 1, 9, "stats", "expected a table ([stats])"},
    {"listener as a single table", "[listener]\nlisten = \"[::]:443\"\n", 1, 1, "listener",
     "expected an array of tables ([[listener]])"},
    {"listener array of strings", "listener = [\"[::]:443\"]\n", 1, 13, "listener[0]",
     "expected a table"},
    {"servers as string", upstream_with("servers = \"a.example:1\""), 5, 11,
     "upstream.chat.servers", "expected an array of strings"},
    {"server as integer", upstream_with("servers = [\"a.example:1\", 2]"), 5, 27,
     "upstream.chat.servers[1]", "expected a string, found an integer"},
    {"upstream as value", "upstream = 1\n", 1, 12, "upstream", "expected a table"},
    {"one upstream as value", "upstream.chat = 1\n", 1, 17, "upstream.chat", "expected a table"},
    {"san_ip entry as integer", with("[tls]\nsan_ip = [1]"), 2, 11, "tls.san_ip[0]",
     "expected a string"},
    {"date as string", with("user = 1979-05-27"), 1, 8, "user", "found a date"},

    // Upstream references and definitions.
    {"unknown upstream",
     "[[listener]]\nlisten = \"[::]:443\"\nupstream = \"chta\"\n[upstream.chat]\n"
     "servers = [\"g.whatsapp.net:5222\"]\n",
     3, 12, "listener[0].upstream", "no upstream named \"chta\" (defined: chat)"},
    {"upstream with empty servers", upstream_with("servers = []"), 5, 11, "upstream.chat.servers",
     "no servers"},
    {"upstream without servers", upstream_with("send_proxy = \"v1\""), 4, 1,
     "upstream.chat.servers", "an upstream needs servers"},
    {"bad upstream name", "[upstream.\"a.b\"]\nservers = [\"x.example:1\"]\n", 1, 11,
     "upstream.\"a.b\"", "upstream names are"},
    {"server listed twice", upstream_with("servers = [\"a.example:1\", \"a.example:1\"]"), 5, 27,
     "upstream.chat.servers[1]", "listed twice"},

    // Listen addresses: numeric, unique, no overlap.
    {"listen is a host name", listener_with("", "localhost:443"), 2, 10, "listener[0].listen",
     "must be a numeric IP address"},
    {"listen without port", listener_with("", "[::]"), 2, 10, "listener[0].listen",
     "not an address"},
    {"listen with port 0", listener_with("", "0.0.0.0:0"), 2, 10, "listener[0].listen",
     "not an address"},
    {"listen with port too big", listener_with("", "0.0.0.0:65536"), 2, 10, "listener[0].listen",
     "not an address"},
    {"listen unbracketed v6", listener_with("", "::1:443"), 2, 10, "listener[0].listen",
     "not an address"},
    {"duplicate listen",
     with("[[listener]]\nlisten = \"[::]:443\"\nupstream = \"chat\"\nname = \"b\""), 6, 10,
     "listener[1].listen", "[::]:443 is the same address as [::]:443 of listener[0] (line 1)"},
    {"duplicate listen spelled differently",
     with("[[listener]]\nlisten = \"[0:0::0]:443\"\nupstream = \"chat\""), 5, 10,
     "listener[1].listen", "[::]:443 is the same address as [0:0::0]:443 of listener[0] (line 1)"},
    {"v4-mapped duplicate",
     "[[listener]]\nlisten = \"127.0.0.1:80\"\nupstream = \"u\"\n"
     "[[listener]]\nlisten = \"[::ffff:127.0.0.1]:80\"\nupstream = \"u\"\n"
     "[upstream.u]\nservers = [\"127.0.0.1:1\"]\n",
     5, 10, "listener[1].listen", "is the same address as 127.0.0.1:80"},
    {"v4 wildcard under dual-stack [::]",
     with("[[listener]]\nlisten = \"0.0.0.0:443\"\nupstream = \"chat\""), 5, 10,
     "listener[1].listen", "[::]:443 overlaps 0.0.0.0:443"},
    {"specific v4 under 0.0.0.0",
     "[[listener]]\nlisten = \"0.0.0.0:80\"\nupstream = \"u\"\n"
     "[[listener]]\nlisten = \"127.0.0.1:80\"\nupstream = \"u\"\n"
     "[upstream.u]\nservers = [\"127.0.0.1:1\"]\n",
     5, 10, "listener[1].listen", "overlaps 0.0.0.0:80"},
    {"stats default address taken by a listener", listener_with("", "[::]:8199"), 2, 10,
     "listener[0].listen", "[::]:8199 overlaps 127.0.0.1:8199 (a wildcard"},
    {"stats address taken by a listener", with("[stats]\nlisten = \"127.0.0.1:443\""), 2, 10,
     "stats.listen", "127.0.0.1:443 overlaps [::]:443 (a wildcard"},
    {"stats listen is a host name", with("[stats]\nlisten = \"localhost:8199\""), 2, 10,
     "stats.listen", "must be a numeric IP address"},

    // Durations.
    {"duration without unit", with("[limits]\nconnect_timeout = \"5\""), 2, 19,
     "limits.connect_timeout", "not a duration"},
    {"duration with space", with("[limits]\nidle_timeout = \"5 s\""), 2, 16, "limits.idle_timeout",
     "not a duration"},
    {"negative duration", with("drain_timeout = \"-5s\""), 1, 17, "drain_timeout",
     "not a duration"},
    {"fractional duration", with("[limits]\nfin_timeout = \"1.5s\""), 2, 15, "limits.fin_timeout",
     "not a duration"},
    {"unknown unit", with("[limits]\nhandshake_timeout = \"5d\""), 2, 21,
     "limits.handshake_timeout", "not a duration"},
    {"zero timeout", with("[limits]\nconnect_timeout = \"0s\""), 2, 19, "limits.connect_timeout",
     "must be at least 1ms"},
    {"health check too often",
     upstream_with("servers = [\"a.example:1\"]\n"
                   "health_check_interval = \"500ms\""),
     6, 25, "upstream.chat.health_check_interval", "must be 0 (off) or at least 1s"},
    {"resolve interval not a duration",
     upstream_with("servers = [\"a.example:1\"]\n"
                   "resolve_interval = \"soon\""),
     6, 20, "upstream.chat.resolve_interval", "not a duration"},

    // Integers out of range.
    {"negative max_connections", with("max_connections = -1"), 1, 19, "max_connections",
     "must be between 1 and 10000000"},
    {"zero max_connections", with("max_connections = 0"), 1, 19, "max_connections",
     "must be between 1"},
    {"huge max_connections", with("max_connections = 9223372036854775807"), 1, 19,
     "max_connections", "must be between"},
    {"too many workers", with("workers = 5000"), 1, 11, "workers", "between 0 and 1024"},
    {"negative per-IP cap", with("[limits]\nper_ip_connections = -3"), 2, 22,
     "limits.per_ip_connections", "must be between 0"},
    {"huge per-IP rate", with("[limits]\nper_ip_new_per_second = 4294967296"), 2, 25,
     "limits.per_ip_new_per_second", "must be between 0"},
    {"listener cap out of range", listener_with("max_connections = 99999999999"), 4, 19,
     "listener[0].max_connections", "must be between 0"},

    // Enumerations.
    {"send_proxy v3", upstream_with("servers = [\"a.example:1\"]\nsend_proxy = \"v3\""), 6, 14,
     "upstream.chat.send_proxy", "must be one of none, v1, v2"},
    {"send_proxy case", upstream_with("servers = [\"a.example:1\"]\nsend_proxy = \"V1\""), 6, 14,
     "upstream.chat.send_proxy", "must be one of"},
    {"key_type rsa-1024", with("[tls]\nkey_type = \"rsa-1024\""), 2, 12, "tls.key_type",
     "must be one of ecdsa-p256, rsa-2048, rsa-4096"},
    {"share_link telegram", with("share_link = \"telegram\""), 1, 14, "share_link",
     "must be one of none, whatsapp, ferry"},
    {"cpu_affinity spread", with("cpu_affinity = \"spread\""), 1, 16, "cpu_affinity",
     "must be one of auto, none"},
    {"io_uring on", with("io_uring = \"on\""), 1, 12, "io_uring", "must be one of auto, off"},
    {"log_level verbose", with("log_level = \"verbose\""), 1, 13, "log_level",
     "must be one of debug, info, warn, error"},

    // TLS files and names.
    {"cert without key", with("[tls]\ncert = \"/etc/ferry/cert.pem\""), 2, 8, "tls.cert",
     "cert without key"},
    {"key without cert", with("[tls]\nkey = \"/etc/ferry/key.pem\""), 2, 7, "tls.key",
     "key without cert"},
    {"empty cert path", with("[tls]\ncert = \"\"\nkey = \"k.pem\""), 2, 8, "tls.cert",
     "must be a file path"},
    {"control character in key path", with("[tls]\ncert = \"c.pem\"\nkey = \"k\\u0000.pem\""), 3, 7,
     "tls.key", "must be a file path"},
    {"san_ip not an IP", with("[tls]\nsan_ip = [\"203.0.113.7\", \"proxy.example.org\"]"), 2, 26,
     "tls.san_ip[1]", "not an IPv4 or IPv6 address"},
    {"san_dns not a name", with("[tls]\nsan_dns = [\"bad name\"]"), 2, 12, "tls.san_dns[0]",
     "not a DNS name"},

    // Other single values.
    {"public_host with scheme", with("public_host = \"https://x.example\""), 1, 15, "public_host",
     "must be a host name or an IP address"},
    {"public_host with port", with("public_host = \"203.0.113.7:443\""), 1, 15, "public_host",
     "must be a host name"},
    {"user starting with dash", with("user = \"-r\""), 1, 8, "user", "must be a user name"},
    {"server is not an address", upstream_with("servers = [\"g.whatsapp.net\"]"), 5, 12,
     "upstream.chat.servers[0]", "not a server address"},
    {"server host with bad characters", upstream_with("servers = [\"a%b:80\"]"), 5, 12,
     "upstream.chat.servers[0]", "not a server address"},
    {"server host numeric but not an IP", upstream_with("servers = [\"10.1:80\"]"), 5, 12,
     "upstream.chat.servers[0]", "not a server address"},
    {"server is the unspecified address", upstream_with("servers = [\"[::]:80\"]"), 5, 12,
     "upstream.chat.servers[0]", "unspecified address"},
    {"server is IPv4's unspecified address mapped to IPv6",
     upstream_with("servers = [\"[::ffff:0.0.0.0]:80\"]"), 5, 12, "upstream.chat.servers[0]",
     "unspecified address"},
    {"server is 0.0.0.0", upstream_with("servers = [\"0.0.0.0:80\"]"), 5, 12,
     "upstream.chat.servers[0]", "unspecified address"},

    // Listeners.
    {"listener without listen", "[[listener]]\nupstream = \"chat\"\n", 1, 1, "listener[0].listen",
     "a listener needs listen"},
    {"listener without upstream", "[[listener]]\nlisten = \"[::]:443\"\n", 1, 1,
     "listener[0].upstream", "a listener needs upstream"},
    {"duplicate listener names",
     listener_with("name = \"chat\"\n[[listener]]\nname = \"chat\"\nlisten = \"[::]:80\"\n"
                   "upstream = \"chat\""),
     6, 8, "listener[1].name", "listener name \"chat\" is already used by listener[0] (line 1)"},
    {"name equal to another listener's default",
     listener_with("[[listener]]\nname = \"[::]:443\"\nlisten = \"[::]:80\"\nupstream = \"chat\""),
     5, 8, "listener[1].name", "already used by listener[0]"},
    {"bad listener name", listener_with("name = \"a b\""), 4, 8, "listener[0].name",
     "listener names are"},
    {"no listeners", "[upstream.chat]\nservers = [\"a.example:1\"]\n", 0, 0, "listener",
     "no listeners"},
    {"empty file", "", 0, 0, "listener", "no listeners"},
};

void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.what;
}

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, IsRefusedAtTheRightPlace) {
  const BadConfig& c = GetParam();
  ConfigError e = parse_error(c.text, "bad.toml");
  EXPECT_EQ(e.file, "bad.toml");
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_EQ(e.column, c.column) << e.to_string();
  EXPECT_EQ(e.key, c.key) << e.to_string();
  EXPECT_NE(e.message.find(c.message), std::string::npos) << e.to_string();
  EXPECT_FALSE(e.message.empty());
}

INSTANTIATE_TEST_SUITE_P(AllClasses, BadConfigTest, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<BadConfig>& p) {
                           std::string name;
                           for (char c : std::string(p.param.what)) {
                             bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                       (c >= '0' && c <= '9');
                             name += ok ? c : '_';
                           }
                           return name + "_" + std::to_string(p.index);
                         });

TEST(ConfigErrors, MessageHasFileLineColumnAndKey) {
  ConfigError e = parse_error(listener_with("tls = \"yes\""), "/etc/ferry/proxy.toml");
  EXPECT_EQ(e.to_string(),
            "/etc/ferry/proxy.toml:4:7: listener[0].tls: expected a boolean (true or false), "
            "found a string");
}

TEST(ConfigErrors, ErrorsNeverCarryControlCharacters) {
  // A quoted key with a newline and an escape sequence in an unknown key.
  ConfigError e = parse_error(with("\"a\\nb\\u001b[31m\" = 1"));
  EXPECT_EQ(e.key, "\"a\\u000Ab\\u001B[31m\"");
  for (char c : e.to_string()) EXPECT_GE(static_cast<unsigned char>(c), 0x20u);
}

TEST(ConfigErrors, RefusesOversizedText) {
  ConfigError e = parse_error(std::string(kMaxConfigBytes + 1, '#'));
  EXPECT_EQ(e.line, 0);
  EXPECT_NE(e.message.find("larger than 1 MiB"), std::string::npos);
}

}  // namespace
}  // namespace ferry::proxy
