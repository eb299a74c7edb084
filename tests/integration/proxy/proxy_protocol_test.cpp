// The PROXY protocol against HAProxy, its reference implementation: ferry's
// headers parsed by HAProxy (accept-proxy), HAProxy's headers (send-proxy,
// send-proxy-v2, LOCAL health checks) parsed by ferry; malformed, slow and
// split headers; IPv4 and IPv6.
#include "net/proxy_protocol.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <thread>

#include "harness/haproxy.h"
#include "harness/test_upstream.h"
#include "harness/tls_client.h"
#include "net/socket.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

namespace pp = net::proxy_protocol;

std::string endpoint(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

// free_port() releases each port it finds, so two calls in a row can
// return the same one; a fixture that needs several must get distinct ones.
std::vector<uint16_t> distinct_free_ports(size_t n) {
  std::vector<uint16_t> ports;
  for (int tries = 0; ports.size() < n && tries < 1000; ++tries) {
    uint16_t p = free_port();
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  return ports;
}

std::string lines(std::initializer_list<std::string> items) {
  std::string text;
  for (const auto& item : items) text += item + "\n";
  return text;
}

// Config pieces for ferry: stats on {stats}, then listeners and upstreams.
std::string ferry_config(const std::string& body, const std::string& limits = "") {
  return "workers = 2\n[stats]\nlisten = \"127.0.0.1:{stats}\"\n" + limits + "\n" + body;
}
std::string listener(const std::string& listen, const std::string& upstream,
                     bool accept_proxy = false) {
  return "[[listener]]\nlisten = \"" + listen + "\"\nupstream = \"" + upstream + "\"\n" +
         (accept_proxy ? "accept_proxy = true\n" : "") + "\n";
}
// Health checks off: their connections would show up at the upstream.
std::string upstream(const std::string& name, const std::string& server,
                     const std::string& send_proxy) {
  return "[upstream." + name + "]\nservers = [\"" + server + "\"]\nsend_proxy = \"" + send_proxy +
         "\"\nhealth_check_interval = \"0s\"\n\n";
}

// What the upstream saw on the first of its connections from number `from`
// on that carried `payload`: a PROXY header, then the payload. Waits until
// all of it arrived. (Connections that carry something else, e.g. relayed
// health checks, are skipped.)
struct Seen {
  std::string bytes;
  pp::ParseResult parsed;
};
std::optional<Seen> upstream_saw(const TestUpstream& up, size_t from, const std::string& payload,
                                 Duration limit = 5s) {
  Seen seen;
  bool ok = wait_until(
      [&] {
        auto all = up.first_bytes();
        for (size_t i = from; i < all.size(); ++i) {
          if (all[i].size() > payload.size() && all[i].ends_with(payload)) {
            seen.bytes = all[i];
            return true;
          }
        }
        return false;
      },
      limit);
  if (!ok) return std::nullopt;
  auto data = std::span(reinterpret_cast<const uint8_t*>(seen.bytes.data()), seen.bytes.size());
  seen.parsed = pp::parse(data);
  return seen;
}

// A client connection from `host` to port, the preamble (a PROXY header or
// nothing) and a payload; the echo upstream sends back everything it got,
// headers included, so the client must get exactly that.
struct RoundTrip {
  net::SocketAddress client;  // the client socket's own address
  std::optional<Seen> seen;
  bool echoed = false;
};
RoundTrip round_trip(const std::string& host, uint16_t port, const TestUpstream& up, size_t from,
                     const std::string& preamble = "", const std::string& payload = "hello") {
  RoundTrip r;
  net::Fd fd = connect_to(host, port);
  if (!fd) return r;
  r.client = net::local_address(fd.get());
  if (!send_all(fd.get(), preamble + payload)) return r;
  r.seen = upstream_saw(up, from, payload);
  if (r.seen) r.echoed = recv_exact(fd.get(), r.seen->bytes.size()) == r.seen->bytes;
  return r;
}

// Checks the upstream got a complete v2 PROXY header (HAProxy only sends v2
// here) naming `source` and `destination`.
void expect_v2_header(const RoundTrip& r, const std::string& source, const std::string& destination,
                      int family) {
  ASSERT_TRUE(r.seen.has_value()) << "nothing (or not the payload) reached the upstream";
  const pp::ParseResult& p = r.seen->parsed;
  ASSERT_EQ(p.status, pp::Status::complete) << p.error;
  EXPECT_EQ(p.header.version, 2);
  ASSERT_FALSE(p.header.local) << "a LOCAL header: the sender did not know the client";
  ASSERT_TRUE(p.header.source && p.header.destination);
  EXPECT_EQ(p.header.source->family(), family);
  EXPECT_EQ(p.header.source->to_string(), source);
  EXPECT_EQ(p.header.destination->to_string(), destination);
  EXPECT_EQ(r.seen->bytes.substr(p.consumed), "hello");
  EXPECT_TRUE(r.echoed) << "the echo did not come back through the chain";
}

// ------------------------------------------- ferry emits, HAProxy parses

// client -> ferry (send_proxy v1 or v2) -> HAProxy (accept-proxy, on
// 127.0.0.1 and [::1]) -> echo upstream (send-proxy-v2). HAProxy would drop
// a header it cannot parse; the v2 header it sends on names the client only
// if it understood ferry's.
class ProxyProtocolFerryToHaproxy : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<uint16_t> ports = distinct_free_ports(7);
    ASSERT_EQ(ports.size(), 7u);
    uint16_t hap = ports[6];
    haproxy_ = std::make_unique<RunningHaproxy>(
        lines({
            "frontend from_ferry",
            "  bind " + endpoint("127.0.0.1", hap) + " accept-proxy",
            "  bind " + endpoint("::1", hap) + " accept-proxy",
            "  default_backend to_upstream",
            "backend to_upstream",
            "  server upstream " + endpoint("127.0.0.1", up_.port()) + " send-proxy-v2",
        }),
        std::vector<uint16_t>{hap});
    ASSERT_TRUE(haproxy_->started()) << haproxy_->process().err();
    v1_4_ = ports[0], v2_4_ = ports[1], v1_6_ = ports[2], v2_6_ = ports[3];
    accept_v1_ = ports[4], accept_v2_ = ports[5];
    proxy_ = std::make_unique<RunningProxy>(
        ferry_config(listener(endpoint("127.0.0.1", v1_4_), "v1_over_4") +
                     listener(endpoint("127.0.0.1", v2_4_), "v2_over_4") +
                     listener(endpoint("::1", v1_6_), "v1_over_6") +
                     listener(endpoint("::1", v2_6_), "v2_over_6") +
                     listener(endpoint("127.0.0.1", accept_v1_), "v1_over_4", true) +
                     listener(endpoint("127.0.0.1", accept_v2_), "v2_over_4", true) +
                     upstream("v1_over_4", endpoint("127.0.0.1", hap), "v1") +
                     upstream("v2_over_4", endpoint("127.0.0.1", hap), "v2") +
                     upstream("v1_over_6", endpoint("::1", hap), "v1") +
                     upstream("v2_over_6", endpoint("::1", hap), "v2")));
    ASSERT_TRUE(proxy_->started()) << proxy_->process().err();
  }

  void direct_client(const std::string& host, uint16_t port) {
    RoundTrip r = round_trip(host, port, up_, 0);
    expect_v2_header(r, r.client.to_string(), endpoint(host, port),
                     host == "::1" ? AF_INET6 : AF_INET);
    EXPECT_EQ(proxy_->metric("ferry_proxy_header_errors_total"), 0);
  }

  TestUpstream up_;
  std::unique_ptr<RunningHaproxy> haproxy_;
  std::unique_ptr<RunningProxy> proxy_;
  uint16_t v1_4_ = 0, v2_4_ = 0, v1_6_ = 0, v2_6_ = 0, accept_v1_ = 0, accept_v2_ = 0;
};

TEST_F(ProxyProtocolFerryToHaproxy, V1FromAnIpv4Client) {
  direct_client("127.0.0.1", v1_4_);
}
TEST_F(ProxyProtocolFerryToHaproxy, V2FromAnIpv4Client) {
  direct_client("127.0.0.1", v2_4_);
}
TEST_F(ProxyProtocolFerryToHaproxy, V1FromAnIpv6Client) {
  direct_client("::1", v1_6_);
}
TEST_F(ProxyProtocolFerryToHaproxy, V2FromAnIpv6Client) {
  direct_client("::1", v2_6_);
}

TEST_F(ProxyProtocolFerryToHaproxy, TheClientFromAnAcceptedHeaderIsPassedOn) {
  // A load balancer in front of ferry said who the client is; ferry must
  // pass that client on, not the balancer.
  const std::string v1 = "PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\r\n";
  RoundTrip a = round_trip("127.0.0.1", accept_v1_, up_, 0, v1);
  expect_v2_header(a, "198.51.100.7:40000", "192.0.2.1:443", AF_INET);

  auto src = net::SocketAddress::from_numeric("198.51.100.7", 40001);
  auto dst = net::SocketAddress::from_numeric("192.0.2.1", 8443);
  RoundTrip b = round_trip("127.0.0.1", accept_v2_, up_, 1, pp::build_v2(*src, *dst));
  expect_v2_header(b, "198.51.100.7:40001", "192.0.2.1:8443", AF_INET);

  // An IPv6 client named in the header travels as IPv6 over an IPv4 hop.
  const std::string v1_6 = "PROXY TCP6 2001:db8::7 2001:db8::1 40002 443\r\n";
  RoundTrip c = round_trip("127.0.0.1", accept_v2_, up_, 2, v1_6);
  expect_v2_header(c, "[2001:db8::7]:40002", "[2001:db8::1]:443", AF_INET6);
  EXPECT_EQ(proxy_->metric("ferry_proxy_header_errors_total"), 0);
}

// ------------------------------------------- HAProxy emits, ferry parses

// client -> HAProxy (send-proxy-v2 or send-proxy) -> ferry (accept_proxy,
// send_proxy v2) -> echo upstream.
class ProxyProtocolHaproxyToFerry : public ::testing::Test {
 protected:
  void start(const std::string& server_options, const std::string& frontend_options = "") {
    std::vector<uint16_t> ports = distinct_free_ports(3);
    ASSERT_EQ(ports.size(), 3u);
    ferry_port_ = ports[0], v2_port_ = ports[1], v1_port_ = ports[2];
    proxy_ = std::make_unique<RunningProxy>(
        ferry_config(listener(endpoint("127.0.0.1", ferry_port_), "up", true) +
                     upstream("up", endpoint("127.0.0.1", up_.port()), "v2")));
    ASSERT_TRUE(proxy_->started()) << proxy_->process().err();
    std::string ferry = endpoint("127.0.0.1", ferry_port_);
    haproxy_ = std::make_unique<RunningHaproxy>(
        lines({
            "frontend v2_in",
            "  bind " + endpoint("127.0.0.1", v2_port_),
            "  bind " + endpoint("::1", v2_port_),
            "  default_backend ferry_v2",
            frontend_options,
            "frontend v1_in",
            "  bind " + endpoint("127.0.0.1", v1_port_),
            "  bind " + endpoint("::1", v1_port_),
            "  default_backend ferry_v1",
            frontend_options,
            "backend ferry_v2",
            "  server ferry " + ferry + " send-proxy-v2 " + server_options,
            "backend ferry_v1",
            "  server ferry " + ferry + " send-proxy " + server_options,
        }),
        std::vector<uint16_t>{v2_port_, v1_port_});
    ASSERT_TRUE(haproxy_->started()) << haproxy_->process().err();
  }

  void through_haproxy(const std::string& host, bool v2) {
    start("");
    if (HasFatalFailure()) return;
    uint16_t port = v2 ? v2_port_ : v1_port_;
    RoundTrip r = round_trip(host, port, up_, 0);
    // What HAProxy saw as client and as destination is what ferry says.
    expect_v2_header(r, r.client.to_string(), endpoint(host, port),
                     host == "::1" ? AF_INET6 : AF_INET);
    EXPECT_EQ(proxy_->metric("ferry_proxy_header_errors_total"), 0);
  }

  TestUpstream up_;
  std::unique_ptr<RunningProxy> proxy_;
  std::unique_ptr<RunningHaproxy> haproxy_;
  uint16_t ferry_port_ = 0, v2_port_ = 0, v1_port_ = 0;
};

TEST_F(ProxyProtocolHaproxyToFerry, SendProxyV2FromAnIpv4Client) {
  through_haproxy("127.0.0.1", true);
}
TEST_F(ProxyProtocolHaproxyToFerry, SendProxyV2FromAnIpv6Client) {
  through_haproxy("::1", true);
}
TEST_F(ProxyProtocolHaproxyToFerry, SendProxyV1FromAnIpv4Client) {
  through_haproxy("127.0.0.1", false);
}
TEST_F(ProxyProtocolHaproxyToFerry, SendProxyV1FromAnIpv6Client) {
  through_haproxy("::1", false);
}

TEST_F(ProxyProtocolHaproxyToFerry, SendProxyV2WithTlvsAndCrc32c) {
  // HAProxy's own CRC32C and TLV encoding: ferry must accept both.
  start("proxy-v2-options crc32c,unique-id", "  unique-id-format ferry-%{+X}o%ci:%cp");
  if (HasFatalFailure()) return;
  RoundTrip r = round_trip("127.0.0.1", v2_port_, up_, 0);
  expect_v2_header(r, r.client.to_string(), endpoint("127.0.0.1", v2_port_), AF_INET);
  EXPECT_EQ(proxy_->metric("ferry_proxy_header_errors_total"), 0) << proxy_->metrics();
}

TEST_F(ProxyProtocolHaproxyToFerry, LocalHealthChecksDisturbNothing) {
  // HAProxy's checks with send-proxy-v2 open a connection, send a v2 LOCAL
  // header (no addresses) and close. Ferry must take that as a header, not
  // an error, and keep relaying real clients in between.
  start("check inter 100ms");
  if (HasFatalFailure()) return;
  std::string listener_label = "listener=\"" + endpoint("127.0.0.1", ferry_port_) + "\"";
  ASSERT_TRUE(proxy_->wait_metric("ferry_connections_accepted_total", {listener_label}, 6, 10s))
      << "HAProxy's health checks never reached ferry\n"
      << haproxy_->process().err();
  EXPECT_EQ(haproxy_->server_stat("ferry_v2", "ferry", "check_status"), "L4OK");
  EXPECT_EQ(haproxy_->server_stat("ferry_v2", "ferry", "status"), "UP");
  // Ferry took the LOCAL headers as headers: it went on to the upstream with
  // the connection's own addresses (HAProxy's), as the spec says. A check
  // that HAProxy resets before ferry reads it never gets that far, so only
  // some of them show up here.
  auto relayed_checks = [&] {
    std::vector<std::string> seen;
    for (const std::string& bytes : up_.first_bytes())
      if (!bytes.empty()) seen.push_back(bytes);
    return seen;
  };
  ASSERT_TRUE(wait_until([&] { return relayed_checks().size() >= 3; }, 5s));
  for (const std::string& bytes : relayed_checks()) {
    auto data = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    pp::ParseResult p = pp::parse(data);
    ASSERT_EQ(p.status, pp::Status::complete) << p.error;
    ASSERT_TRUE(p.header.source && p.header.destination);
    EXPECT_EQ(p.header.source->ip_string(), "127.0.0.1");
    EXPECT_EQ(p.header.destination->to_string(), endpoint("127.0.0.1", ferry_port_));
  }

  // Checks keep coming while a client is relayed (their relayed
  // connections are told apart by the payload).
  RoundTrip r = round_trip("127.0.0.1", v2_port_, up_, 0);
  expect_v2_header(r, r.client.to_string(), endpoint("127.0.0.1", v2_port_), AF_INET);
  double accepted = proxy_->metric("ferry_connections_accepted_total", {listener_label});
  EXPECT_TRUE(
      proxy_->wait_metric("ferry_connections_accepted_total", {listener_label}, accepted + 3, 5s));
  EXPECT_EQ(proxy_->metric("ferry_proxy_header_errors_total"), 0) << proxy_->metrics();
  EXPECT_EQ(proxy_->metric("ferry_connections_closed_total", {"reason=\"proxy_header\""}), 0);
  EXPECT_EQ(proxy_->metric("ferry_connections_closed_total", {"reason=\"handshake_timeout\""}), 0);
}

// ------------------------------------------------------- ferry's own parser

// One accept_proxy listener, send_proxy v1, straight to the echo upstream.
std::string accepting_config(uint16_t port, uint16_t up_port, const std::string& handshake_timeout,
                             const std::string& send_proxy = "v1") {
  return ferry_config(listener(endpoint("127.0.0.1", port), "up", true) +
                          upstream("up", endpoint("127.0.0.1", up_port), send_proxy),
                      "[limits]\nhandshake_timeout = \"" + handshake_timeout + "\"\n");
}

std::string v2_prefix(uint8_t ver_cmd, uint8_t family, uint16_t length) {
  std::string sig("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12);
  sig += static_cast<char>(ver_cmd);
  sig += static_cast<char>(family);
  sig += static_cast<char>(length >> 8);
  sig += static_cast<char>(length & 0xff);
  return sig;
}

std::string valid_v2() {
  auto src = net::SocketAddress::from_numeric("198.51.100.7", 40000);
  auto dst = net::SocketAddress::from_numeric("192.0.2.1", 443);
  return pp::build_v2(*src, *dst);
}

TEST(ProxyProtocol, MalformedHeadersAreClosedAtOnceAndCounted) {
  // A long handshake timeout: a connection closed within a few seconds was
  // closed for its header, not by the timer.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(accepting_config(port, up.port(), "60s"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  std::string bad_crc;
  {
    auto src = net::SocketAddress::from_numeric("198.51.100.7", 40000);
    auto dst = net::SocketAddress::from_numeric("192.0.2.1", 443);
    bad_crc = pp::build_v2(*src, *dst, {}, true);
    bad_crc[16] ^= 0x01;  // the source address changed after the CRC was taken
  }
  std::string ipv4_block(12, '\x01');
  struct Case {
    const char* name;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {"garbage", "\x01\x02 not a header at all\r\n"},
      {"http request", "GET / HTTP/1.1\r\nHost: example\r\n\r\n"},
      {"TLS ClientHello", client_hello_bytes()},
      {"v1 address out of range", "PROXY TCP4 256.1.1.1 192.0.2.1 40000 443\r\n"},
      {"v1 address with leading zero", "PROXY TCP4 198.51.100.07 192.0.2.1 40000 443\r\n"},
      {"v1 port out of range", "PROXY TCP4 198.51.100.7 192.0.2.1 65536 443\r\n"},
      {"v1 port not a number", "PROXY TCP4 198.51.100.7 192.0.2.1 4x000 443\r\n"},
      {"v1 two spaces", "PROXY TCP4  198.51.100.7 192.0.2.1 40000 443\r\n"},
      {"v1 space before CRLF", "PROXY TCP4 198.51.100.7 192.0.2.1 40000 443 \r\n"},
      {"v1 LF without CR", "PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\n"},
      {"v1 unknown family", "PROXY TCP5 198.51.100.7 192.0.2.1 40000 443\r\n"},
      {"v1 family mismatch", "PROXY TCP4 2001:db8::7 2001:db8::1 40000 443\r\n"},
      {"v1 missing field", "PROXY TCP4 198.51.100.7 192.0.2.1 40000\r\n"},
      {"v1 lower case", "proxy TCP4 198.51.100.7 192.0.2.1 40000 443\r\n"},
      {"v1 over 107 bytes without CRLF", "PROXY UNKNOWN " + std::string(120, 'x')},
      {"v2 wrong signature",
       std::string("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B", 12) + std::string(20, '\0')},
      {"v2 version 1", v2_prefix(0x11, 0x11, 12) + ipv4_block},
      {"v2 version 3", v2_prefix(0x31, 0x11, 12) + ipv4_block},
      {"v2 command 2", v2_prefix(0x22, 0x11, 12) + ipv4_block},
      {"v2 family 4", v2_prefix(0x21, 0x41, 12) + ipv4_block},
      {"v2 transport 3", v2_prefix(0x21, 0x13, 12) + ipv4_block},
      {"v2 length past our limit", v2_prefix(0x21, 0x11, 0xffff) + ipv4_block},
      {"v2 length shorter than the addresses", v2_prefix(0x21, 0x11, 8) + ipv4_block},
      {"v2 truncated TLV", v2_prefix(0x21, 0x11, 14) + ipv4_block + std::string("\x05\x00", 2)},
      {"v2 TLV overruns the header",
       v2_prefix(0x21, 0x11, 17) + ipv4_block + std::string("\x05\x00\x09xy", 5)},
      {"v2 bad CRC32C", bad_crc},
  };
  double expected = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_FALSE(c.bytes.empty());
    net::Fd fd = connect_to("127.0.0.1", port);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), c.bytes + "payload"));
    EXPECT_TRUE(wait_closed(fd.get(), 3s)) << "not closed promptly";
    expected += 1;
    EXPECT_TRUE(
        proxy.wait_metric("ferry_proxy_header_errors_total", {"reason=\"invalid\""}, expected))
        << proxy.metrics();
  }
  EXPECT_EQ(proxy.metric("ferry_proxy_header_errors_total", {"reason=\"invalid\""}), expected);
  EXPECT_EQ(proxy.metric("ferry_proxy_header_errors_total", {"reason=\"timeout\""}), 0);
  EXPECT_EQ(proxy.metric("ferry_connections_closed_total", {"reason=\"proxy_header\""}), expected);
  EXPECT_EQ(up.accepted(), 0u) << "a malformed header reached the upstream";

  // Still serving.
  RoundTrip ok = round_trip("127.0.0.1", port, up, 0, valid_v2());
  ASSERT_TRUE(ok.seen.has_value());
  EXPECT_EQ(ok.seen->bytes, "PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\r\nhello");
  EXPECT_TRUE(ok.echoed);
}

// A client that half-closes before its header is complete will never finish
// it: closed and counted as invalid at once, not held until the timeout.
TEST(ProxyProtocol, AHeaderCutShortByTheClientsFinIsClosedAtOnce) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(accepting_config(port, up.port(), "60s"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  std::string v2 = valid_v2();
  for (const std::string& part :
       {std::string("PROXY TCP4 198.51.100.7 192.0"), v2.substr(0, v2.size() - 3)}) {
    net::Fd fd = connect_to("127.0.0.1", port);
    ASSERT_TRUE(fd && send_all(fd.get(), part));
    ASSERT_EQ(::shutdown(fd.get(), SHUT_WR), 0);
    EXPECT_TRUE(wait_closed(fd.get(), 3s)) << "held until the handshake timeout";
  }
  EXPECT_TRUE(proxy.wait_metric("ferry_proxy_header_errors_total", {"reason=\"invalid\""}, 2))
      << proxy.metrics();
  EXPECT_EQ(proxy.metric("ferry_proxy_header_errors_total", {"reason=\"timeout\""}), 0);
  EXPECT_EQ(up.accepted(), 0u);
}

TEST(ProxyProtocol, AnIncompleteHeaderIsClosedAtTheHandshakeTimeout) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(accepting_config(port, up.port(), "300ms"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  net::Fd v1 = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(v1.get(), "PROXY TCP4 198.51.100.7 192.0"));
  std::string v2 = valid_v2();
  net::Fd v2_fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(v2_fd.get(), v2.substr(0, v2.size() - 3)));
  net::Fd silent = connect_to("127.0.0.1", port);
  ASSERT_TRUE(silent);

  EXPECT_TRUE(wait_closed(v1.get(), 5s));
  EXPECT_TRUE(wait_closed(v2_fd.get(), 5s));
  EXPECT_TRUE(wait_closed(silent.get(), 5s));
  EXPECT_TRUE(proxy.wait_metric("ferry_proxy_header_errors_total", {"reason=\"timeout\""}, 3))
      << proxy.metrics();
  EXPECT_TRUE(
      proxy.wait_metric("ferry_connections_closed_total", {"reason=\"handshake_timeout\""}, 3));
  EXPECT_EQ(proxy.metric("ferry_proxy_header_errors_total", {"reason=\"invalid\""}), 0);
  EXPECT_EQ(up.accepted(), 0u);
}

// Sends `bytes` one at a time as separate TCP segments.
bool send_byte_by_byte(int fd, const std::string& bytes) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (char c : bytes) {
    if (!send_all(fd, &c, 1)) return false;
    std::this_thread::sleep_for(2ms);  // so each byte leaves in its own segment
  }
  return true;
}

TEST(ProxyProtocol, AHeaderSplitAcrossSegmentsIsAccepted) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(accepting_config(port, up.port(), "30s"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  const std::string passed_on = "PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\r\n";

  auto src = net::SocketAddress::from_numeric("198.51.100.7", 40000);
  auto dst = net::SocketAddress::from_numeric("192.0.2.1", 443);
  std::vector<pp::Tlv> tlvs = {{pp::kTlvAuthority, "proxy.example.org"},
                               {pp::kTlvUniqueId, "abc123"}};
  const std::vector<std::pair<const char*, std::string>> headers = {
      {"v1", passed_on},
      {"v2", pp::build_v2(*src, *dst)},
      {"v2 with TLVs and CRC32C", pp::build_v2(*src, *dst, tlvs, true)},
  };
  for (size_t i = 0; i < headers.size(); ++i) {
    SCOPED_TRACE(headers[i].first);
    net::Fd fd = connect_to("127.0.0.1", port);
    ASSERT_TRUE(send_byte_by_byte(fd.get(), headers[i].second));
    ASSERT_TRUE(send_all(fd.get(), "hello"));
    auto seen = upstream_saw(up, i, "hello");
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->bytes, passed_on + "hello");
    EXPECT_EQ(recv_exact(fd.get(), seen->bytes.size()), seen->bytes);
  }
  EXPECT_EQ(proxy.metric("ferry_proxy_header_errors_total"), 0);
}

TEST(ProxyProtocol, TheLongestV1HeaderIsAccepted) {
  // 104 bytes: the spec's worst case (107 with a longer form no sender uses).
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(accepting_config(port, up.port(), "30s"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  const std::string longest =
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "65535 65535\r\n";
  ASSERT_EQ(longest.size(), 104u);
  RoundTrip r = round_trip("127.0.0.1", port, up, 0, longest);
  ASSERT_TRUE(r.seen.has_value());
  EXPECT_EQ(r.seen->bytes, longest + "hello");
  EXPECT_TRUE(r.echoed);
}

TEST(ProxyProtocol, ALocalHeaderAndThenSilenceIsClosedAtTheHandshakeTimeout) {
  // After a LOCAL header the proxy waits for data before dialing; that wait
  // is bounded like the header itself, or silent sockets would pile up.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(accepting_config(port, up.port(), "300ms", "v2"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(fd.get(), pp::build_v2_local()));
  EXPECT_TRUE(wait_closed(fd.get(), 5s)) << "a silent LOCAL connection was kept";
  EXPECT_TRUE(
      proxy.wait_metric("ferry_connections_closed_total", {"reason=\"handshake_timeout\""}, 1))
      << proxy.metrics();
  EXPECT_EQ(proxy.metric("ferry_proxy_header_errors_total", {}), 0) << "the header was valid";
  EXPECT_EQ(up.accepted(), 0u);
}

TEST(ProxyProtocol, V2LocalKeepsTheConnectionsOwnAddresses) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(accepting_config(port, up.port(), "30s", "v2"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  RoundTrip r = round_trip("127.0.0.1", port, up, 0, pp::build_v2_local());
  expect_v2_header(r, r.client.to_string(), endpoint("127.0.0.1", port), AF_INET);
}

TEST(ProxyProtocol, Ipv6ClientGetsAnIpv6V2Header) {
  // No PROXY header from the client: ferry names the socket's own peer.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(ferry_config(listener(endpoint("::1", port), "up") +
                                  upstream("up", endpoint("127.0.0.1", up.port()), "v2")));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  RoundTrip r = round_trip("::1", port, up, 0);
  ASSERT_TRUE(r.seen.has_value());
  EXPECT_EQ(static_cast<uint8_t>(r.seen->bytes[13]), 0x21) << "not AF_INET6 + STREAM";
  expect_v2_header(r, r.client.to_string(), endpoint("::1", port), AF_INET6);
  EXPECT_EQ(r.client.ip_string(), "::1");
}

TEST(ProxyProtocol, Ipv6HeadersAcceptedOnAnIpv6Listener) {
  TestUpstream up(TestUpstream::Mode::echo, "::1");
  std::vector<uint16_t> ports = distinct_free_ports(2);
  ASSERT_EQ(ports.size(), 2u);
  uint16_t v1_port = ports[0], v2_port = ports[1];
  RunningProxy proxy(ferry_config(listener(endpoint("::1", v1_port), "as_v1", true) +
                                  listener(endpoint("::1", v2_port), "as_v2", true) +
                                  upstream("as_v1", endpoint("::1", up.port()), "v1") +
                                  upstream("as_v2", endpoint("::1", up.port()), "v2")));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  auto src = net::SocketAddress::from_numeric("2001:db8::7", 40000);
  auto dst = net::SocketAddress::from_numeric("2001:db8::1", 443);

  // v2 TCP6 in, v1 TCP6 out.
  RoundTrip a = round_trip("::1", v1_port, up, 0, pp::build_v2(*src, *dst));
  ASSERT_TRUE(a.seen.has_value());
  EXPECT_EQ(a.seen->bytes, "PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\nhello");
  EXPECT_TRUE(a.echoed);

  // v1 TCP6 in, v2 TCP6 out.
  RoundTrip b =
      round_trip("::1", v2_port, up, 1, "PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n");
  ASSERT_TRUE(b.seen.has_value());
  EXPECT_EQ(static_cast<uint8_t>(b.seen->bytes[13]), 0x21);
  expect_v2_header(b, "[2001:db8::7]:40000", "[2001:db8::1]:443", AF_INET6);
}

}  // namespace
}  // namespace ferry::test
