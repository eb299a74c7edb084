// Thousands of idle relayed connections stay up while others carry traffic.
#include <sys/resource.h>

#include <thread>

#include "harness/test_upstream.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

// Each relayed connection costs the proxy two descriptors, and this test
// process holds both ends (client and upstream): 8,000 fits in 20,000.
constexpr int kIdle = 8000;
constexpr int kBusy = 20;

bool raise_fd_limit(rlim_t want) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) rl.rlim_cur = std::min(want, rl.rlim_max);
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur >= want;
}

TEST(Scale, EightThousandIdleConnectionsStayUpWhileOthersPingPong) {
  if (!raise_fd_limit(2 * kIdle + 2 * kBusy + 200)) GTEST_SKIP() << "file descriptor limit too low";
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "max_connections = 20000\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  long rss_before = proxy.process().rss_kib();
  std::vector<net::Fd> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) {
    net::Fd fd = connect_to("127.0.0.1", port);
    ASSERT_TRUE(fd) << "connection " << i;
    ASSERT_TRUE(send_all(fd.get(), "x"));
    idle.push_back(std::move(fd));
  }
  for (int i = 0; i < kIdle; ++i) ASSERT_TRUE(recv_exact(idle[i].get(), 1)) << "connection " << i;
  ASSERT_TRUE(proxy.wait_metric("ferry_active_connections_total", {}, kIdle));
  // For information (bench/relay.sh measures this properly): bytes per idle
  // relayed connection in the proxy's resident memory.
  RecordProperty("rss_bytes_per_idle_connection",
                 std::to_string((proxy.process().rss_kib() - rss_before) * 1024 / kIdle));

  // Ping-pong on other connections meanwhile.
  std::vector<net::Fd> busy;
  for (int i = 0; i < kBusy; ++i) busy.push_back(connect_to("127.0.0.1", port));
  std::string msg = random_bytes(512, 7);
  for (int round = 0; round < 200; ++round) {
    for (auto& fd : busy) ASSERT_TRUE(send_all(fd.get(), msg));
    for (auto& fd : busy) ASSERT_EQ(recv_exact(fd.get(), msg.size()), msg) << "round " << round;
  }

  // Every idle connection is still relayed, none was dropped or errored.
  for (int i = 0; i < kIdle; ++i) {
    ASSERT_TRUE(send_all(idle[i].get(), "y"));
  }
  for (int i = 0; i < kIdle; ++i)
    ASSERT_EQ(recv_exact(idle[i].get(), 1), "y") << "connection " << i;
  std::string m = proxy.metrics();
  EXPECT_EQ(metric(m, "ferry_active_connections_total"), kIdle + kBusy);
  EXPECT_EQ(metric(m, "ferry_connections_closed_total"), 0) << m;
  EXPECT_EQ(metric(m, "ferry_connections_refused_total"), 0);
}

}  // namespace
}  // namespace ferry::test
