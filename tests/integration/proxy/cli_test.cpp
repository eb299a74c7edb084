// The command line of the real binary: bad configurations refused with file,
// line and key; --check, --print-config, --upstream, --public-host (share
// link and QR code); start-up failures. Everything on loopback: the built-in
// profiles, which bind privileged [::] ports, are only ever --check'ed here
// (default_profile_test.cpp runs them in a network namespace).
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <regex>
#include <sstream>

#include "harness/test_upstream.h"
#include "harness/tls_client.h"
#include "net/socket.h"
#include "proxy/config.h"
#include "proxy/profiles.h"
#include "proxy/qr_code.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

struct Result {
  int code = -1;  // -1: still running at the deadline (then killed)
  std::string out;
  std::string err;
};

// Runs ferry-proxy to completion (bounded).
Result run_proxy(std::vector<std::string> args, Duration limit = 10s) {
  TempDir dir;
  Process p(binary("ferry-proxy"), std::move(args), dir.path());
  auto status = p.wait_exit(limit);
  return {status.value_or(-1), p.out(), p.err()};
}

bool accepts(uint16_t port) {
  return static_cast<bool>(connect_to("127.0.0.1", port, 1s));
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  RunningProxy::replace_all(s, from, to);
  return s;
}

// ---------------------------------------------------------------------------
// Bad configuration files.

// A config with one mistake on the line marked "# <- bad"; {a}, {b}, {stats}
// and {up} become loopback ports.
struct BadCase {
  const char* what;
  const char* text;
  const char* key;      // the dotted key the error must name
  const char* message;  // a fragment of the message
};

// Top-level keys go before the case's text, tables after it.
const char* const kHead = "workers = 1\n";
const char* const kTail =
    "[upstream.up]\nservers = [\"127.0.0.1:{up}\"]\n[stats]\nlisten = \"127.0.0.1:{stats}\"\n";

const BadCase kBadCases[] = {
    {"unknown key",
     "[limits]\nconnect_timeout = \"5s\"\nidle_timout = \"200s\" # <- bad\n"
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = \"up\"\n",
     "limits.idle_timout", "unknown key"},
    {"unknown key in a listener",
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = \"up\"\nport = 443 # <- bad\n",
     "listener[0].port", "unknown key"},
    {"wrong type",
     "max_connections = \"many\" # <- bad\n[[listener]]\nlisten = \"127.0.0.1:{a}\"\n"
     "upstream = \"up\"\n",
     "max_connections", "expected an integer"},
    {"wrong type in a listener",
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\ntls = \"yes\" # <- bad\nupstream = \"up\"\n",
     "listener[0].tls", "expected a boolean"},
    {"unknown upstream",
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = \"up\"\n"
     "[[listener]]\nlisten = \"127.0.0.1:{b}\"\nupstream = \"caht\" # <- bad\n",
     "listener[1].upstream", "no upstream named \"caht\" (defined: up)"},
    {"duplicate listen address",
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = \"up\"\n"
     "[[listener]]\nlisten = \"127.0.0.1:{a}\" # <- bad\nupstream = \"up\"\n",
     "listener[1].listen", "is the same address as"},
    {"listen address overlapping a wildcard",
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = \"up\"\n"
     "[[listener]]\nlisten = \"[::]:{a}\" # <- bad\nupstream = \"up\"\n",
     "listener[1].listen", "overlaps"},
    {"bad duration",
     "[limits]\nconnect_timeout = \"5 seconds\" # <- bad\n"
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = \"up\"\n",
     "limits.connect_timeout", "not a duration"},
    {"duration without unit",
     "drain_timeout = \"30\" # <- bad\n[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = "
     "\"up\"\n",
     "drain_timeout", "not a duration"},
    {"bad listen port", "[[listener]]\nlisten = \"127.0.0.1:99999\" # <- bad\nupstream = \"up\"\n",
     "listener[0].listen", "not an address"},
    {"host name as listen address",
     "[[listener]]\nlisten = \"localhost:{a}\" # <- bad\nupstream = \"up\"\n", "listener[0].listen",
     "not a host name"},
    {"unspecified upstream server",
     "[[listener]]\nlisten = \"127.0.0.1:{a}\"\nupstream = \"other\"\n"
     "[upstream.other]\nservers = [\"0.0.0.0:80\"] # <- bad\n",
     "upstream.other.servers[0]", "unspecified address"},
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.what;
}

class CliBadConfig : public testing::TestWithParam<BadCase> {};

TEST_P(CliBadConfig, RefusesToStartNamingFileLineAndKey) {
  const BadCase& c = GetParam();
  uint16_t a = free_port(), b = free_port(), stats = free_port(), up = free_port();
  std::string text = std::string(kHead) + c.text + kTail;
  for (auto [from, port] :
       {std::pair<const char*, uint16_t>{"{a}", a}, {"{b}", b}, {"{stats}", stats}, {"{up}", up}}) {
    text = replace_all(text, from, std::to_string(port));
  }
  size_t mark = text.find("# <- bad");
  ASSERT_NE(mark, std::string::npos);
  const int line = 1 + static_cast<int>(std::count(
                           text.begin(), text.begin() + static_cast<std::ptrdiff_t>(mark), '\n'));
  TempDir dir;
  std::string path = dir.write("bad.toml", text);

  // "ferry-proxy: FILE:LINE:COLUMN: KEY: MESSAGE"
  const std::regex shape("ferry-proxy: (.+):([0-9]+):([0-9]+): ([^ ]+): (.+)\n");
  for (bool check : {false, true}) {
    SCOPED_TRACE(check ? "with --check" : "without --check");
    std::vector<std::string> args = {"--config", path};
    if (check) args.push_back("--check");
    Result r = run_proxy(args);
    EXPECT_EQ(r.code, 2) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(r.err, m, shape)) << "stderr:\n" << r.err;
    EXPECT_EQ(m[1], path);
    EXPECT_EQ(m[2], std::to_string(line)) << text;
    EXPECT_GT(std::stoi(m[3]), 0);
    EXPECT_EQ(m[4], c.key);
    EXPECT_NE(m[5].str().find(c.message), std::string::npos) << m[5];
    EXPECT_EQ(r.out.find("configuration ok"), std::string::npos);
    EXPECT_FALSE(accepts(a));
    EXPECT_FALSE(accepts(stats)) << "the stats page of a refused config is up";
  }
}

INSTANTIATE_TEST_SUITE_P(Cli, CliBadConfig, testing::ValuesIn(kBadCases),
                         [](const testing::TestParamInfo<BadCase>& param) {
                           std::string name = param.param.what;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(Cli, CheckAcceptsAGoodFileWithoutBindingAnything) {
  // The listener's port is taken: --check must not even try to bind it.
  uint16_t stats = free_port(), up = free_port();
  auto busy_addr = net::SocketAddress::from_numeric("127.0.0.1", 0);
  std::string error;
  net::Fd busy = net::listen_tcp(*busy_addr, {}, error);
  ASSERT_TRUE(busy) << error;
  uint16_t taken = net::local_address(busy.get()).port();
  std::string text = replace_all(simple_config(taken, up), "{stats}", std::to_string(stats));
  TempDir dir;
  std::string path = dir.write("good.toml", text);
  Result r = run_proxy({"--check", "--config", path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "configuration ok: " + path + "\n");
  EXPECT_EQ(r.err, "");
}

TEST(Cli, CheckRefusesWhatTheStartWouldRefuse) {
  // An unreadable-by-policy key and an unknown user pass the parser but not
  // the start: --check must say so, as the docs promise for reloads.
  uint16_t stats = free_port(), up = free_port(), port = free_port();
  TempDir dir;
  std::string out;
  ASSERT_TRUE(make_certificate_files(dir.file("cert.pem"), dir.file("key.pem"), "x.example", out))
      << out;
  ASSERT_EQ(::chmod(dir.file("key.pem").c_str(), 0644), 0);
  std::string tls =
      replace_all(simple_config(port, up, "", "tls = true\n"), "{stats}", std::to_string(stats)) +
      "[tls]\ncert = \"" + dir.file("cert.pem") + "\"\nkey = \"" + dir.file("key.pem") + "\"\n";
  Result r = run_proxy({"--check", "--config", dir.write("tls.toml", tls)});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("mode 0644"), std::string::npos) << r.err;

  std::string user = "user = \"no-such-user-here\"\n" +
                     replace_all(simple_config(port, up), "{stats}", std::to_string(stats));
  r = run_proxy({"--check", "--config", dir.write("user.toml", user)});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("no such user 'no-such-user-here'"), std::string::npos) << r.err;
}

TEST(Cli, CheckAcceptsTheBuiltInProfilesAndRefusesAnUnknownOne) {
  Result r = run_proxy({"--check"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "configuration ok: profile:whatsapp\n");
  r = run_proxy({"--check", "--profile", "ferry"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "configuration ok: profile:ferry\n");
  r = run_proxy({"--check", "--profile", "nosuch"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
}

TEST(Cli, AMissingConfigFileIsNamed) {
  TempDir dir;
  std::string path = dir.file("absent.toml");
  Result r = run_proxy({"--config", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
}

TEST(Cli, FlagValuesObeyTheFileRules) {
  Result r = run_proxy({"--check", "--log-level", "loud"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--log-level"), std::string::npos) << r.err;
  // A value that would be TOML if pasted into the file stays one string.
  r = run_proxy({"--check", "--public-host", "x\"\nmax_connections = 1\n#"});
  EXPECT_EQ(r.code, 2);
  // An error in a value a flag set names the flag, not a key of the file.
  EXPECT_NE(r.err.find(": --public-host: "), std::string::npos) << r.err;
  r = run_proxy({"--check", "--user", "no body"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(": --user: "), std::string::npos) << r.err;
  r = run_proxy({"--check", "--user", "no-such-user-here"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(": --user: no such user"), std::string::npos) << r.err;
  r = run_proxy({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("ferry-proxy ", 0), 0u) << r.out;
}

// ---------------------------------------------------------------------------
// --print-config

TEST(Cli, PrintConfigOutputIsTheShippedProfileAndReparses) {
  for (const char* name : {"whatsapp", "ferry"}) {
    SCOPED_TRACE(name);
    Result r = run_proxy({"--print-config", name});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              read_file(std::string(FERRY_SOURCE_DIR) + "/src/proxy/profiles/" + name + ".toml"));
    TempDir dir;
    std::string path = dir.write("printed.toml", r.out);
    Result check = run_proxy({"--check", "--config", path});
    EXPECT_EQ(check.code, 0) << check.err;
    EXPECT_EQ(check.out, "configuration ok: " + path + "\n");
    // And it is the same configuration as the built-in one.
    auto printed = proxy::parse_config(r.out, path);
    auto builtin = proxy::load_profile(name);
    ASSERT_TRUE(std::holds_alternative<proxy::Config>(printed));
    ASSERT_TRUE(std::holds_alternative<proxy::Config>(builtin));
    EXPECT_TRUE(std::get<proxy::Config>(printed) == std::get<proxy::Config>(builtin));
  }
  Result wa = run_proxy({"--print-config", "whatsapp"});
  for (int port : {80, 8080, 443, 8443, 5222, 8222, 587, 7777}) {
    EXPECT_NE(wa.out.find("listen = \"[::]:" + std::to_string(port) + "\""), std::string::npos)
        << port;
  }
}

TEST(Cli, PrintConfigOfAnUnknownProfileFailsClearly) {
  Result r = run_proxy({"--print-config", "nosuch"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("unknown profile 'nosuch'"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------------------
// --upstream

// The ferry profile as printed by the binary, with its [::] listeners moved
// to loopback ports and the stats page to a free one.
struct FerryOnLoopback {
  uint16_t tls_port = free_port();
  uint16_t plain_port = free_port();
  uint16_t stats_port = free_port();
  std::string text;

  FerryOnLoopback() {
    Result r = run_proxy({"--print-config", "ferry"});
    std::string t = r.out;
    if (t.find("\"[::]:443\"") == std::string::npos ||
        t.find("\"[::]:5222\"") == std::string::npos) {
      return;  // text stays empty: the test fails on it
    }
    t = replace_all(t, "\"[::]:443\"", "\"127.0.0.1:" + std::to_string(tls_port) + "\"");
    t = replace_all(t, "\"[::]:5222\"", "\"127.0.0.1:" + std::to_string(plain_port) + "\"");
    text = "workers = 1\n" + t + "\n[stats]\nlisten = \"127.0.0.1:" + std::to_string(stats_port) +
           "\"\n";
  }
};

TEST(Cli, UpstreamIsAcceptedForTheFerryProfile) {
  Result r = run_proxy({"--check", "--profile", "ferry", "--upstream", "127.0.0.1:7001"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = run_proxy({"--check", "--profile", "ferry", "--upstream", "[2001:db8::1]:7001"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(Cli, UpstreamReplacesTheFerryServerAndTheProxyRelaysToIt) {
  TestUpstream up;
  FerryOnLoopback ferry;
  ASSERT_FALSE(ferry.text.empty()) << "the ferry profile no longer listens on [::]:443/5222";
  TempDir dir;
  std::string path = dir.write("ferry.toml", ferry.text);
  std::string target = "127.0.0.1:" + std::to_string(up.port());
  Process proxy(binary("ferry-proxy"), {"--config", path, "--upstream", target}, dir.path());
  ASSERT_TRUE(proxy.wait_for_log("event=started", 10s)) << proxy.err();

  net::Fd fd = connect_to("127.0.0.1", ferry.plain_port);
  ASSERT_TRUE(fd);
  const std::string payload = random_bytes(4096, 7);
  ASSERT_TRUE(send_all(fd.get(), payload));
  // The echo upstream returns the profile's PROXY v2 header (12-byte
  // signature, 4 bytes of header, 12 of IPv4 addresses) and then the bytes.
  const std::string v2_signature("\r\n\r\n\0\r\nQUIT\n", 12);
  auto back = recv_exact(fd.get(), 28 + payload.size());
  ASSERT_TRUE(back.has_value()) << "nothing relayed through --upstream " << target;
  EXPECT_EQ(back->substr(0, 12), v2_signature);
  EXPECT_EQ(back->substr(28), payload);

  std::string m = http_get(ferry.stats_port, "/metrics").value_or("");
  EXPECT_EQ(metric(m, "ferry_upstream_connects_total", {"server=\"" + target + "\""}), 1) << m;
  EXPECT_EQ(m.find("127.0.0.1:7000"), std::string::npos) << "the placeholder server is still "
                                                            "configured:\n"
                                                         << m;
}

TEST(Cli, UpstreamIsRefusedWhenTheConfigHasSeveralUpstreams) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--check", "--upstream", "127.0.0.1:5222"},
        std::vector<std::string>{"--check", "--profile", "whatsapp", "--upstream",
                                 "127.0.0.1:5222"}}) {
    Result r = run_proxy(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("--upstream"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("has 3 upstreams"), std::string::npos) << r.err;
  }
}

TEST(Cli, UpstreamMustBeADiallableHostPort) {
  for (const char* bad : {"0.0.0.0:80", "[::]:80"}) {
    Result r = run_proxy({"--check", "--profile", "ferry", "--upstream", bad});
    EXPECT_EQ(r.code, 2) << bad;
    // The value came from the flag: the error names it, not the file's key.
    EXPECT_NE(r.err.find(": --upstream: "), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("upstream.ferry.servers"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unspecified address"), std::string::npos) << r.err;
  }
  Result r = run_proxy({"--check", "--profile", "ferry", "--upstream", "nonsense"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--upstream"), std::string::npos) << r.err;

  // Without --check too: refused before anything is bound.
  FerryOnLoopback ferry;
  ASSERT_FALSE(ferry.text.empty());
  TempDir dir;
  std::string path = dir.write("ferry.toml", ferry.text);
  r = run_proxy({"--config", path, "--upstream", "0.0.0.0:80"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("unspecified address"), std::string::npos) << r.err;
  EXPECT_FALSE(accepts(ferry.plain_port));
  EXPECT_FALSE(accepts(ferry.stats_port));
}

// ---------------------------------------------------------------------------
// Start-up failures.

// A plain listening socket on a free loopback port, as another program has.
struct Squatter {
  net::Fd fd;
  uint16_t port = 0;
  Squatter() {
    auto addr = net::SocketAddress::from_numeric("127.0.0.1", 0);
    std::string error;
    fd = net::listen_tcp(*addr, {}, error);
    if (fd) port = net::local_address(fd.get()).port();
  }
};

std::string two_listeners(uint16_t first, uint16_t second, uint16_t up) {
  return simple_config(first, up) + "[[listener]]\nlisten = \"127.0.0.1:" + std::to_string(second) +
         "\"\nupstream = \"up\"\n";
}

TEST(Cli, AListenPortInUseStopsTheStartWithExitCode1) {
  Squatter busy;
  ASSERT_TRUE(busy.fd);
  uint16_t first = free_port(), stats = free_port(), up = free_port();
  TempDir dir;
  std::string path = dir.write("proxy.toml", replace_all(two_listeners(first, busy.port, up),
                                                         "{stats}", std::to_string(stats)));
  Result r = run_proxy({"--config", path});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("event=start_failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(busy.port)), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("event=started"), std::string::npos) << r.err;
  // Nothing left half-running: the listener bound before the failure and the
  // stats page are gone with it.
  EXPECT_FALSE(accepts(first));
  EXPECT_FALSE(accepts(stats));
}

TEST(Cli, AStatsPortInUseStopsTheStartWithExitCode1) {
  Squatter busy;
  ASSERT_TRUE(busy.fd);
  uint16_t port = free_port(), up = free_port();
  TempDir dir;
  std::string path = dir.write(
      "proxy.toml", replace_all(simple_config(port, up), "{stats}", std::to_string(busy.port)));
  Result r = run_proxy({"--config", path});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("event=start_failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(busy.port)), std::string::npos) << r.err;
  EXPECT_FALSE(accepts(port));
}

// Regression: an exception out of main (here std::system_error, when a worker
// thread cannot get its stack) used to end in std::terminate: "terminate
// called ...", SIGABRT and a core dump.
TEST(Cli, AStartThatRunsOutOfMemoryEndsWithOneLineAndExitCode1) {
  uint16_t port = free_port(), stats = free_port(), up = free_port();
  TempDir dir;
  std::string path = dir.write(
      "proxy.toml", replace_all(simple_config(port, up), "{stats}", std::to_string(stats)));
  auto r = run_without_memory("ferry-proxy", {"--config", path});
  ASSERT_TRUE(r.status.has_value()) << r.err;
  EXPECT_EQ(*r.status, 1) << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ferry-proxy: fatal: "), std::string::npos) << r.err;
}

// Regression: listeners are bound with SO_REUSEPORT (one socket per worker),
// which once let a second ferry-proxy of the same user bind the same ports
// too, start, and split the clients with the first.
TEST(Cli, ASecondProxyOnTheSamePortsRefusesToStart) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy first(simple_config(port, up.port()));
  ASSERT_TRUE(first.started()) << first.process().err();
  uint16_t stats = free_port();
  TempDir dir;
  std::string path = dir.write(
      "second.toml", replace_all(simple_config(port, up.port()), "{stats}", std::to_string(stats)));
  Process second(binary("ferry-proxy"), {"--config", path}, dir.path());
  wait_until(
      [&] { return !second.running() || second.err().find("event=started") != std::string::npos; },
      10s);
  EXPECT_FALSE(second.running()) << "a second proxy started on a port in use:\n" << second.err();
  EXPECT_EQ(second.wait_exit(1s), std::optional<int>(1));
  EXPECT_NE(second.err().find("event=start_failed"), std::string::npos) << second.err();
  EXPECT_NE(second.err().find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

// ---------------------------------------------------------------------------
// --public-host: the share link and its QR code.

const char* const kQrGlyphs[] = {"\u2580", "\u2584", "\u2588", " "};

// The lines of `out` drawn only with half blocks and spaces (with at least
// one block), each as its count of cells.
std::vector<size_t> qr_line_widths(const std::string& out) {
  std::vector<size_t> widths;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    size_t cells = 0, blocks = 0, at = 0;
    while (at < line.size()) {
      size_t before = at;
      for (const char* g : kQrGlyphs) {
        if (line.compare(at, std::strlen(g), g) == 0) {
          at += std::strlen(g);
          ++cells;
          if (g[0] != ' ') ++blocks;
          break;
        }
      }
      if (at == before) break;  // another character: not a QR line
    }
    if (at == line.size() && blocks > 0) widths.push_back(cells);
  }
  return widths;
}

// Runs `config` with `args` until it started; returns its stdout.
std::string started_output(const std::string& config, std::vector<std::string> args) {
  TempDir dir;
  std::string path = dir.write("proxy.toml", config);
  args.insert(args.begin(), {"--config", path});
  Process proxy(binary("ferry-proxy"), args, dir.path());
  if (!proxy.wait_for_log("event=started", 10s)) return "did not start:\n" + proxy.err();
  return proxy.out();
}

// The whatsapp profile, every listener moved to a loopback port and every
// server to a closed loopback port. `ports` gets the port that replaced each
// of WhatsApp's.
std::string whatsapp_on_loopback(std::map<int, uint16_t>& ports) {
  std::string t = run_proxy({"--print-config", "whatsapp"}).out;
  for (int p : {80, 8080, 443, 8443, 5222, 8222, 587, 7777}) {
    ports[p] = free_port();
    t = replace_all(t, "\"[::]:" + std::to_string(p) + "\"",
                    "\"127.0.0.1:" + std::to_string(ports[p]) + "\"");
  }
  t = replace_all(t, "\"127.0.0.1:8199\"", "\"127.0.0.1:" + std::to_string(free_port()) + "\"");
  for (const char* server : {"g.whatsapp.net:5222", "g.whatsapp.net:80", "whatsapp.net:443"}) {
    t = replace_all(t, "servers = [\"" + std::string(server) + "\"]",
                    "servers = [\"127.0.0.1:" + std::to_string(free_port()) + "\"]");
  }
  return "workers = 1\n" + t;
}

TEST(Cli, PublicHostPrintsTheWhatsAppLinkAndQrCode) {
  std::map<int, uint16_t> ports;
  std::string config = whatsapp_on_loopback(ports);
  ASSERT_EQ(config.find("listen = \"[::]"), std::string::npos) << "a listener was not moved";
  ASSERT_EQ(config.find("\nservers = [\"g"), std::string::npos) << config;
  ASSERT_EQ(config.find("\nservers = [\"w"), std::string::npos) << config;

  std::string out = started_output(config, {"--public-host", "203.0.113.7"});
  const std::string link =
      "https://wa.me/proxy?host=203.0.113.7&chatPort=" + std::to_string(ports[443]) +
      "&mediaPort=" + std::to_string(ports[587]) + "&chatTLS=true";
  EXPECT_NE(out.find("  " + link + "\n"), std::string::npos) << out;
  std::vector<size_t> widths = qr_line_widths(out);
  // Even a version-1 code is 29 modules with its quiet zone: 15 lines.
  EXPECT_GE(widths.size(), 15u) << out;
  for (size_t w : widths) EXPECT_EQ(w, widths.front()) << out;
  // Plain (no colour codes: stdout is not a terminal), and of this link.
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find(proxy::qr_for_terminal(link, proxy::QrColors::plain)), std::string::npos)
      << out;

  // No public host, no link.
  std::string quiet = started_output(config, {});
  EXPECT_EQ(quiet.find("wa.me"), std::string::npos) << quiet;
  EXPECT_TRUE(qr_line_widths(quiet).empty()) << quiet;
}

TEST(Cli, PublicHostPrintsTheFerryLink) {
  FerryOnLoopback ferry;
  ASSERT_FALSE(ferry.text.empty());
  std::string out = started_output(ferry.text, {"--public-host", "203.0.113.7"});
  const std::string link =
      "ferry://proxy?host=203.0.113.7&port=" + std::to_string(ferry.tls_port) + "&tls=1";
  EXPECT_NE(out.find("  " + link + "\n"), std::string::npos) << out;
  EXPECT_GE(qr_line_widths(out).size(), 15u) << out;
  EXPECT_NE(out.find(proxy::qr_for_terminal(link, proxy::QrColors::plain)), std::string::npos);

  // An IPv6 host goes in brackets, percent-encoded.
  out = started_output(ferry.text, {"--public-host", "2001:db8::7"});
  EXPECT_NE(out.find("ferry://proxy?host=%5B2001:db8::7%5D&port=" + std::to_string(ferry.tls_port) +
                     "&tls=1\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace ferry::test
