// Upstreams: failover to the next server, health checks, all servers down.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include "harness/test_upstream.h"
#include "net/socket.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

std::string two_server_config(uint16_t port, uint16_t a, uint16_t b, const std::string& interval) {
  return "workers = 2\n[stats]\nlisten = \"127.0.0.1:{stats}\"\n[limits]\nconnect_timeout = "
         "\"500ms\"\n[[listener]]\nlisten = \"127.0.0.1:" +
         std::to_string(port) +
         "\"\nupstream = \"up\"\n[upstream.up]\nservers = [\"127.0.0.1:" + std::to_string(a) +
         "\", \"127.0.0.1:" + std::to_string(b) + "\"]\nhealth_check_interval = \"" + interval +
         "\"\n";
}

bool echo_once(uint16_t port) {
  net::Fd fd = connect_to("127.0.0.1", port);
  return fd && send_all(fd.get(), "ping") && recv_exact(fd.get(), 4).has_value();
}

TEST(Upstream, AFailedConnectMovesOnToTheNextServer) {
  TestUpstream good;
  uint16_t dead = free_port();  // nothing listens there
  uint16_t port = free_port();
  // No health checks: every connection that starts at the dead server must
  // fail over by itself.
  RunningProxy proxy(two_server_config(port, dead, good.port(), "0s"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(echo_once(port)) << "connection " << i;
  EXPECT_GE(proxy.metric("ferry_upstream_connect_failures_total",
                         {"server=\"127.0.0.1:" + std::to_string(dead) + "\""}),
            1);
  EXPECT_EQ(proxy.metric("ferry_upstream_connects_total"), 6);
}

TEST(Upstream, AllServersDownRefusesQuicklyAndHealthzSaysSo) {
  uint16_t a = free_port(), b = free_port();
  uint16_t port = free_port();
  RunningProxy proxy(two_server_config(port, a, b, "1s"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  ASSERT_TRUE(proxy.wait_metric("ferry_upstream_health_check_failures_total", {}, 2));
  int status = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        http_get(proxy.stats_port(), "/healthz", &status);
        return status == 503;
      },
      5s));
  auto body = http_get(proxy.stats_port(), "/healthz", &status);
  EXPECT_NE(body->find("upstream up: no server up"), std::string::npos) << *body;

  net::Fd fd = connect_to("127.0.0.1", port);
  auto t0 = Clock::now();
  EXPECT_TRUE(wait_closed(fd.get(), 2s));
  EXPECT_LT(Clock::now() - t0, 1s) << "refusal should not wait for connect timeouts";
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_refused_total", {"reason=\"no_upstream\""}, 1));
}

TEST(Upstream, HealthChecksBringAServerBackUp) {
  TestUpstream first;
  uint16_t port = free_port();
  std::string cfg = simple_config(port, first.port(), "", "", "health_check_interval = \"1s\"\n");
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  ASSERT_TRUE(echo_once(port));
  uint16_t server_port = first.port();
  first.close_listener();  // the server goes away
  ASSERT_TRUE(proxy.wait_metric("ferry_upstream_health_check_failures_total", {}, 1));
  ASSERT_TRUE(wait_until([&] { return proxy.metric("ferry_upstream_server_up") == 0; }, 5s));
  EXPECT_FALSE(echo_once(port));

  // Something listens on that port again: the proxy notices and relays.
  auto addr = net::SocketAddress::from_numeric("127.0.0.1", server_port);
  std::string error;
  net::ListenOptions opts;
  net::Fd again = net::listen_tcp(*addr, opts, error);
  ASSERT_TRUE(again) << error;
  EXPECT_TRUE(wait_until([&] { return proxy.metric("ferry_upstream_server_up") == 1; }, 5s));
  int status = 0;
  http_get(proxy.stats_port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace ferry::test

namespace ferry::test {
namespace {

// A server a health check brought back up needs three failed connects in a
// row again before it goes down: the failures from before it went down do
// not count (they did, and one more failure took it down for a whole
// health-check interval).
TEST(Upstream, AServerBroughtBackUpNeedsThreeFailuresInARowAgainToGoDown) {
  const uint16_t server_port = free_port();
  auto listen_as_server = [&] {  // a bare listener: the kernel completes connects
    std::string error;
    net::ListenOptions opts;
    net::Fd fd =
        net::listen_tcp(*net::SocketAddress::from_numeric("127.0.0.1", server_port), opts, error);
    EXPECT_TRUE(fd) << error;
    return fd;
  };
  auto failed_connect = [&](uint16_t port) {
    net::Fd c = connect_to("127.0.0.1", port);
    return c && wait_closed(c.get(), 3s);
  };
  net::Fd server = listen_as_server();
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, server_port, "", "", "health_check_interval = \"1s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  ASSERT_TRUE(wait_until([&] { return proxy.metric("ferry_upstream_server_up") == 1; }, 5s));

  server.reset();  // it goes away: three failed connects take it down
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(failed_connect(port));
  ASSERT_TRUE(wait_until([&] { return proxy.metric("ferry_upstream_server_up") == 0; }, 3s));
  server = listen_as_server();  // back: the next health check says so
  ASSERT_TRUE(wait_until([&] { return proxy.metric("ferry_upstream_server_up") == 1; }, 5s));

  // One failed connect now leaves it up. A health check that fails in the
  // same moment would take it down by itself: then that try proves nothing.
  bool checked = false;
  for (int attempt = 0; attempt < 5 && !checked; ++attempt) {
    const double probes_failed = proxy.metric("ferry_upstream_health_check_failures_total");
    const double connects_failed = proxy.metric("ferry_upstream_connect_failures_total");
    server.reset();
    ASSERT_TRUE(failed_connect(port));
    ASSERT_TRUE(
        proxy.wait_metric("ferry_upstream_connect_failures_total", {}, connects_failed + 1));
    const bool up = proxy.metric("ferry_upstream_server_up") == 1;
    if (proxy.metric("ferry_upstream_health_check_failures_total") == probes_failed) {
      EXPECT_TRUE(up) << "one failed connect took the server down again";
      checked = true;
    }
    server = listen_as_server();
    ASSERT_TRUE(wait_until([&] { return proxy.metric("ferry_upstream_server_up") == 1; }, 5s));
  }
  EXPECT_TRUE(checked) << "a health check failed alongside every try";
}

TEST(Upstream, ResolvesHostnamesAndTriesEachAddress) {
  // "localhost" may resolve to ::1 and 127.0.0.1; the upstream listens on
  // 127.0.0.1 only, so a refused ::1 must lead to the next address.
  TestUpstream up;
  uint16_t port = free_port();
  std::string cfg =
      "workers = 2\n[stats]\nlisten = \"127.0.0.1:{stats}\"\n[[listener]]\nlisten = "
      "\"127.0.0.1:" +
      std::to_string(port) +
      "\"\nupstream = \"up\"\n[upstream.up]\n"
      "servers = [\"localhost:" +
      std::to_string(up.port()) + "\"]\n";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  // Resolution happens off the hot path, right after start.
  ASSERT_TRUE(wait_until([&] { return echo_once(port); }, 5s)) << proxy.process().err();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(echo_once(port));
}

TEST(Upstream, AHostnameIsResolvedAgainOnReloadEvenWithResolveIntervalZero) {
  // resolve_interval = "0s" means once at start and on each reload. A server
  // that a reload removes and a later one brings back must get addresses
  // again, or every client is refused.
  TestUpstream named, numeric;
  uint16_t port = free_port();
  auto config = [&](const std::string& server) {
    return "workers = 2\n[stats]\nlisten = \"127.0.0.1:{stats}\"\n[[listener]]\nlisten = "
           "\"127.0.0.1:" +
           std::to_string(port) + "\"\nupstream = \"up\"\n[upstream.up]\nservers = [\"" + server +
           "\"]\nresolve_interval = \"0s\"\nhealth_check_interval = \"0s\"\n";
  };
  const std::string by_name = "localhost:" + std::to_string(named.port());
  RunningProxy proxy(config(by_name));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  ASSERT_TRUE(wait_until([&] { return echo_once(port); }, 5s)) << proxy.process().err();

  proxy.rewrite(config("127.0.0.1:" + std::to_string(numeric.port())));
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return echo_once(port) && numeric.accepted() > 0; }, 5s))
      << proxy.process().err();

  proxy.rewrite(config(by_name));
  proxy.process().signal(SIGHUP);
  const size_t before = named.accepted();
  EXPECT_TRUE(wait_until([&] { return echo_once(port) && named.accepted() > before; }, 5s))
      << "the server named again was never resolved again:\n"
      << proxy.process().err();
}

// A loopback port that refuses connections: `fd` is bound to it and not
// listening (listen() on it brings the server "back"). 0 on failure.
uint16_t refusing_port(net::Fd& fd) {
  fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return 0;
  return ntohs(sa.sin_port);
}

TEST(Upstream, TurningHealthChecksOffByReloadBringsDownServersBack) {
  // Only a health check marks a server up again: a reload that turns checks
  // off must not leave one they marked down refused for good.
  net::Fd upstream;
  const uint16_t up_port = refusing_port(upstream);
  ASSERT_NE(up_port, 0);
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up_port, "", "", "health_check_interval = \"1s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  ASSERT_TRUE(wait_until(
      [&] {
        return proxy.metrics().find("ferry_upstream_server_up") != std::string::npos &&
               proxy.metric("ferry_upstream_server_up") == 0;
      },
      5s))
      << "the health check never marked the server down";

  proxy.rewrite(simple_config(port, up_port, "", "", "health_check_interval = \"0s\"\n"));
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_done", 5s)) << proxy.process().err();
  ASSERT_EQ(::listen(upstream.get(), 4), 0);  // the server is back
  net::Fd client = connect_to("127.0.0.1", port);
  ASSERT_TRUE(client && send_all(client.get(), "ping"));
  ASSERT_TRUE(poll_for(upstream.get(), POLLIN, Clock::now() + 5s))
      << "the proxy still refuses: " << proxy.metrics();
  net::Fd accepted(::accept4(upstream.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_EQ(recv_exact(accepted.get(), 4), "ping");
  EXPECT_EQ(proxy.metric("ferry_upstream_server_up"), 1);
}

// A health check still in flight when a reload turns checks off must not
// land its verdict afterwards: with checks off, nothing would bring the
// server back up.
TEST(Upstream, AHealthCheckInFlightWhenAReloadTurnsChecksOffLeavesNoVerdict) {
  // A server whose connects hang: its listen queue holds one connection,
  // which a client fills, so the kernel drops every further SYN.
  net::Fd upstream;
  const uint16_t up_port = refusing_port(upstream);
  ASSERT_NE(up_port, 0);
  ASSERT_EQ(::listen(upstream.get(), 0), 0);
  net::Fd filler = connect_to("127.0.0.1", up_port);
  ASSERT_TRUE(filler);
  uint16_t port = free_port();
  const std::string limits = "[limits]\nconnect_timeout = \"2s\"\n";
  RunningProxy proxy(simple_config(port, up_port, limits, "", "health_check_interval = \"1s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  // The first check times out at 2 s; by then the next ones are in flight.
  ASSERT_TRUE(wait_until(
      [&] { return proxy.metric("ferry_upstream_health_check_failures_total") >= 1; }, 6s))
      << proxy.metrics();

  proxy.rewrite(simple_config(port, up_port, limits, "", "health_check_interval = \"0s\"\n"));
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_done", 5s)) << proxy.process().err();
  EXPECT_EQ(proxy.metric("ferry_upstream_server_up"), 1);
  // Longer than connect_timeout: every check started before the reload is over.
  EXPECT_FALSE(wait_until([&] { return proxy.metric("ferry_upstream_server_up") == 0; }, 3s))
      << "a check from before the reload marked the server down: " << proxy.metrics();
}

TEST(Upstream, AServerRemovedByReloadNoLongerReportsItsState) {
  // Its state would hide that no configured server is up (the documented
  // alert takes the max over ferry_upstream_server_up).
  TestUpstream old_server;
  net::Fd refused;
  const uint16_t refused_port = refusing_port(refused);
  ASSERT_NE(refused_port, 0);
  uint16_t port = free_port();
  const std::string checks = "health_check_interval = \"1s\"\n";
  RunningProxy proxy(simple_config(port, old_server.port(), "", "", checks));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  const std::string old_label = "server=\"127.0.0.1:" + std::to_string(old_server.port()) + "\"";
  ASSERT_NE(proxy.metrics().find(old_label), std::string::npos);

  proxy.rewrite(simple_config(port, refused_port, "", "", checks));
  proxy.process().signal(SIGHUP);
  ASSERT_TRUE(proxy.process().wait_for_log("event=reload_done", 5s)) << proxy.process().err();
  int status = 0;
  ASSERT_TRUE(wait_until(
      [&] { return http_get(proxy.stats_port(), "/healthz", &status) && status == 503; }, 5s));
  std::string m = proxy.metrics();
  EXPECT_EQ(m.find("ferry_upstream_server_up{upstream=\"up\"," + old_label), std::string::npos)
      << m;
  EXPECT_EQ(metric(m, "ferry_upstream_server_up"), 0);
  // Its counters stay.
  EXPECT_NE(m.find("ferry_upstream_connects_total{upstream=\"up\"," + old_label),
            std::string::npos);
}

TEST(Upstream, NothingAClientSaysChoosesWhereTheProxyConnects) {
  // A PROXY header names a destination; the proxy must ignore it for routing
  // and still dial only its configured server.
  TestUpstream configured;
  TestUpstream elsewhere;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, configured.port(), "", "accept_proxy = true\n",
                                   "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", port);
  std::string hdr =
      "PROXY TCP4 127.0.0.1 127.0.0.1 40000 " + std::to_string(elsewhere.port()) + "\r\n";
  ASSERT_TRUE(send_all(fd.get(), hdr + "ping"));
  ASSERT_TRUE(recv_exact(fd.get(), 4));
  EXPECT_EQ(configured.accepted(), 1u);
  EXPECT_EQ(elsewhere.accepted(), 0u);
}

}  // namespace
}  // namespace ferry::test
