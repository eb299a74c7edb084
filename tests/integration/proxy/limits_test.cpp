// Admission: the global cap, the per-listener cap, per-client-IP caps and
// rates; every refusal counted by reason.
#include <sys/resource.h>
#include <sys/socket.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness/netns.h"
#include "harness/test_upstream.h"
#include "net/address.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

// Connects and proves the connection is relayed (an echo comes back).
bool relayed(net::Fd& fd, uint16_t port) {
  fd = connect_to("127.0.0.1", port);
  return fd && send_all(fd.get(), "hi") && recv_exact(fd.get(), 2).has_value();
}

// The lowest descriptor number `pid` does not use: the next one it opens.
int lowest_free_fd(pid_t pid) {
  std::vector<bool> used;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    size_t n = std::stoul(e.path().filename().string());
    if (n >= used.size()) used.resize(n + 1);
    used[n] = true;
  }
  int fd = 0;
  while (fd < static_cast<int>(used.size()) && used[fd]) ++fd;
  return fd;
}

TEST(Limits, TheGlobalCapRefusesTheConnectionOverIt) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "max_connections = 3\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  std::vector<net::Fd> held(3);
  for (auto& fd : held) ASSERT_TRUE(relayed(fd, port));
  net::Fd extra = connect_to("127.0.0.1", port);
  ASSERT_TRUE(extra);  // the kernel accepts; the proxy closes at once
  EXPECT_TRUE(wait_closed(extra.get(), 2s));
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_refused_total", {"reason=\"global_limit\""}, 1));
  // A slot freed is a slot usable.
  held[0].reset();
  net::Fd again;
  EXPECT_TRUE(wait_until([&] { return relayed(again, port); }, 3s));
}

TEST(Limits, TheListenerCapCountsOnlyItsListener) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "max_connections = 1\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd first;
  ASSERT_TRUE(relayed(first, port));
  net::Fd second = connect_to("127.0.0.1", port);
  EXPECT_TRUE(wait_closed(second.get(), 2s));
  EXPECT_TRUE(
      proxy.wait_metric("ferry_connections_refused_total", {"reason=\"listener_limit\""}, 1));
}

TEST(Limits, PerIpConcurrentCap) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "[limits]\nper_ip_connections = 2\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd a, b;
  ASSERT_TRUE(relayed(a, port));
  ASSERT_TRUE(relayed(b, port));
  net::Fd c = connect_to("127.0.0.1", port);
  EXPECT_TRUE(wait_closed(c.get(), 2s));
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_refused_total", {"reason=\"per_ip_limit\""}, 1));
  a.reset();  // the count goes down when a connection ends
  net::Fd d;
  EXPECT_TRUE(wait_until([&] { return relayed(d, port); }, 3s));
}

TEST(Limits, PerIpRateRefusesABurst) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "[limits]\nper_ip_new_per_second = 3\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  int admitted = 0;
  std::vector<net::Fd> fds(10);
  for (auto& fd : fds) admitted += relayed(fd, port) ? 1 : 0;
  // A bucket of 3 that refills at 3/s: a burst of 10 within well under a
  // second gets 3 or a little more, never all.
  EXPECT_GE(admitted, 3);
  EXPECT_LT(admitted, 10);
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_refused_total", {"reason=\"per_ip_rate\""}, 1));
}

TEST(Limits, PerIpLimitsSeeTheClientFromTheProxyHeader) {
  // Behind a load balancer every connection comes from its address; the
  // limit must apply to the client named in the PROXY header instead.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "[limits]\nper_ip_connections = 1\n",
                                   "accept_proxy = true\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  auto open_as = [&](const std::string& client_ip, net::Fd& fd) {
    fd = connect_to("127.0.0.1", port);
    std::string hdr = "PROXY TCP4 " + client_ip + " 192.0.2.1 40000 443\r\n";
    return fd && send_all(fd.get(), hdr + "hi") && recv_exact(fd.get(), 2).has_value();
  };
  net::Fd a, b, c;
  EXPECT_TRUE(open_as("198.51.100.1", a));
  EXPECT_TRUE(open_as("198.51.100.2", b)) << "a different client was limited";
  EXPECT_FALSE(open_as("198.51.100.1", c)) << "the same client got a second connection";
}

// Out of file descriptors, the proxy pauses accepting, logs and counts it,
// keeps what it has, and takes new clients again once descriptors are free.
TEST(Limits, RunningOutOfDescriptorsIsCountedAndRecovers) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "", "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd first;
  ASSERT_TRUE(relayed(first, port));

  // No new descriptor at all (the limit caps descriptor numbers, and the
  // lowest ones are taken): every accept fails until it is lifted.
  const pid_t pid = proxy.process().pid();
  rlimit before{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &before), 0);
  rlimit tight{0, before.rlim_max};  // the soft limit only: no privilege needed
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &tight, nullptr), 0);

  std::vector<net::Fd> clients;  // the kernel completes these; they wait in the backlog
  for (int i = 0; i < 4; ++i) clients.push_back(connect_to("127.0.0.1", port));
  for (auto& c : clients) ASSERT_TRUE(c);
  EXPECT_TRUE(proxy.process().wait_for_log("accept_failed", 5s)) << proxy.process().err();
  // What was relayed before is untouched.
  EXPECT_TRUE(send_all(first.get(), "still") && recv_exact(first.get(), 5) == "still");

  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
  clients.clear();
  EXPECT_TRUE(proxy.wait_metric("ferry_accept_errors_total", {}, 1));
  net::Fd again;
  EXPECT_TRUE(wait_until([&] { return relayed(again, port); }, 3s));
}

// The stats page shares the proxy's descriptors: out of them, it stops
// watching its listener for a moment instead of spinning a core on accept,
// and answers the request that waited once descriptors are free again.
TEST(Limits, TheStatsPageOutOfDescriptorsPausesAndThenAnswers) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "", "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  ASSERT_TRUE(http_get(proxy.stats_port(), "/healthz").has_value());
  const pid_t pid = proxy.process().pid();
  rlimit before{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &before), 0);
  rlimit none{static_cast<rlim_t>(lowest_free_fd(pid)), before.rlim_max};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &none, nullptr), 0);

  // The kernel completes the connection; the proxy cannot accept it.
  net::Fd waiting = connect_to("127.0.0.1", proxy.stats_port());
  ASSERT_TRUE(waiting);
  ASSERT_TRUE(send_all(waiting.get(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const long ticks_before = proxy.process().cpu_ticks();
  const bool unanswered = stays_open(waiting.get(), 1s);
  const long ticks_spent = proxy.process().cpu_ticks() - ticks_before;
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
  EXPECT_TRUE(unanswered) << "answered without a descriptor to accept with";
  // A spinning accept loop burns the whole second (100 ticks); pausing
  // 100 ms between tries costs next to nothing.
  EXPECT_LT(ticks_spent, 50) << "the stats listener spun on accept";

  auto reply = recv_exact(waiting.get(), 12, 3s);
  ASSERT_TRUE(reply.has_value()) << "the waiting request was never answered";
  EXPECT_EQ(*reply, "HTTP/1.1 200");
}

// A health check that finds no descriptor is the proxy's shortage too: the
// server stays up (it failed the check before the fix, marked down at once).
TEST(Limits, AHealthCheckWithoutADescriptorBlamesNoServer) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "", "health_check_interval = \"1s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  ASSERT_TRUE(proxy.wait_metric("ferry_upstream_server_up", {}, 1));
  const pid_t pid = proxy.process().pid();
  rlimit before{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &before), 0);
  rlimit none{static_cast<rlim_t>(lowest_free_fd(pid)), before.rlim_max};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &none, nullptr), 0);
  bool skipped = proxy.process().wait_for_log("health_check_skipped", 5s);
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
  EXPECT_TRUE(skipped) << proxy.process().err();
  EXPECT_EQ(proxy.metric("ferry_upstream_health_check_failures_total", {}), 0) << proxy.metrics();
  EXPECT_EQ(proxy.metric("ferry_upstream_server_up", {}), 1) << proxy.metrics();
  net::Fd again;
  EXPECT_TRUE(wait_until([&] { return relayed(again, port); }, 3s));
}

// Room to accept a client but none to dial the upstream: that is the proxy's
// shortage, so the client is closed and no upstream server is blamed.
TEST(Limits, NoDescriptorForTheUpstreamSocketBlamesNoServer) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "", "health_check_interval = \"60s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  const pid_t pid = proxy.process().pid();
  rlimit before{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &before), 0);

  // Exactly one free descriptor number below the limit: accept takes it,
  // the upstream socket finds none. Five such closes in a row: more than
  // passive health needs (three failed connects in a row) to mark a server
  // down. A descriptor the proxy held only briefly (its first health probe)
  // can free a second number after the limit is set; that connection is
  // relayed, proves nothing, and starts the count again.
  int closed_in_a_row = 0;
  for (int attempt = 0; attempt < 20 && closed_in_a_row < 5; ++attempt) {
    // The lowest free number, and the limit just above it; checked again
    // after setting it, in case the proxy closed a lower one meanwhile.
    bool set = false;
    for (int tries = 0; tries < 20 && !set; ++tries) {
      int free_fd = lowest_free_fd(pid);
      rlimit one{static_cast<rlim_t>(free_fd + 1), before.rlim_max};
      ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &one, nullptr), 0);
      set = lowest_free_fd(pid) == free_fd;
    }
    ASSERT_TRUE(set);
    net::Fd c = connect_to("127.0.0.1", port);
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "hi"));
    if (!recv_exact(c.get(), 2, 3s)) {
      EXPECT_TRUE(wait_closed(c.get(), 3s));
      ++closed_in_a_row;
      continue;
    }
    closed_in_a_row = 0;  // relayed: let it finish before the next attempt
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
    c.reset();
    ASSERT_TRUE(wait_until([&] { return proxy.metric("ferry_connections_active") == 0; }, 3s));
  }
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
  EXPECT_EQ(closed_in_a_row, 5);
  EXPECT_TRUE(proxy.process().wait_for_log("upstream_socket_failed", 3s));
  EXPECT_EQ(proxy.metric("ferry_upstream_connect_failures_total", {}), 0) << proxy.metrics();
  EXPECT_EQ(proxy.metric("ferry_upstream_server_up", {}), 1) << proxy.metrics();
  net::Fd again;
  EXPECT_TRUE(wait_until([&] { return relayed(again, port); }, 3s));
}

// No local port left to dial the upstream from (connect: EADDRNOTAVAIL) is
// the proxy's shortage too, on either I/O path. A namespace of the test's own
// narrows the ephemeral range to four ports, which held connections use up.
// The clients bind ports of their own outside it, so only the proxy runs out
// (the upstream's listening port was taken before the range was narrowed).
TEST(Limits, NoLocalPortForTheUpstreamBlamesNoServer) {
  NetNamespace ns;
  if (!ns.ok()) GTEST_SKIP() << ns.error();
  std::unique_ptr<TestUpstream> up;
  ASSERT_TRUE(ns.inside([&] { up = std::make_unique<TestUpstream>(); }));
  std::string out;
  ASSERT_EQ(
      ns.run({"sh", "-c", "echo '61000 61003' > /proc/sys/net/ipv4/ip_local_port_range"}, out), 0)
      << out;
  constexpr uint16_t kPort = 7000, kStats = 8199;
  TempDir dir;
  std::string config = RunningProxy::with_io_engine(
      simple_config(kPort, up->port(), "", "", "health_check_interval = \"60s\"\n"));
  RunningProxy::replace_all(config, "{stats}", std::to_string(kStats));
  auto proxy =
      ns.start(binary("ferry-proxy"), {"--config", dir.write("proxy.toml", config)}, dir.path());
  ASSERT_TRUE(proxy->wait_for_log("event=started", 15s)) << proxy->err();
  uint16_t client_port = 20000;
  auto dial = [&] {
    net::Fd fd;
    ns.inside([&] {
      fd = net::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      auto local = net::SocketAddress::from_numeric("127.0.0.1", client_port++);
      auto proxy_addr = net::SocketAddress::from_numeric("127.0.0.1", kPort);
      if (::bind(fd.get(), local->sa(), local->len()) != 0 ||
          ::connect(fd.get(), proxy_addr->sa(), proxy_addr->len()) != 0)
        fd.reset();
    });
    return fd;
  };
  auto metric = [&](const std::string& name) {
    std::string text;
    ns.inside([&] { text = http_get(kStats, "/metrics").value_or(""); });
    return ferry::test::metric(text, name, {});
  };

  // Relayed connections are held (each keeps its local port) until one is
  // closed for want of a port; then four more in a row, one more than
  // passive health needs (three failed connects) to mark a server down.
  std::vector<net::Fd> held;
  int closed_in_a_row = 0;
  for (int attempt = 0; attempt < 20 && closed_in_a_row < 5; ++attempt) {
    net::Fd c = dial();
    ASSERT_TRUE(c) << "attempt " << attempt;
    ASSERT_TRUE(send_all(c.get(), "hi"));
    if (recv_exact(c.get(), 2, 3s)) {
      // A port the health probe left in TIME_WAIT can be reused a second
      // later (tcp_tw_reuse on loopback): relayed, held, count again.
      closed_in_a_row = 0;
      held.push_back(std::move(c));
      continue;
    }
    EXPECT_TRUE(wait_closed(c.get(), 3s));
    ++closed_in_a_row;
  }
  EXPECT_EQ(closed_in_a_row, 5);
  EXPECT_LE(held.size(), 4u);
  EXPECT_TRUE(proxy->wait_for_log("upstream_socket_failed", 3s)) << proxy->err();
  EXPECT_EQ(metric("ferry_upstream_connect_failures_total"), 0);
  EXPECT_EQ(metric("ferry_upstream_server_up"), 1);
  held.clear();  // their ports come back once out of TIME_WAIT (reusable after 1 s here)
  net::Fd again;
  EXPECT_TRUE(wait_until(
      [&] {
        again = dial();
        return again && send_all(again.get(), "hi") && recv_exact(again.get(), 2, 1s);
      },
      10s));
}

}  // namespace
}  // namespace ferry::test
