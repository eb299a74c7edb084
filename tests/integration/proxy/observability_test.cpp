// The stats endpoint and the logs: numbers that match what happened, and no
// client address in any log line unless the operator asked for it.
#include <netinet/in.h>
#include <sys/socket.h>

#include <vector>

#include "harness/test_upstream.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

std::string client_port_text(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return std::to_string(ntohs(a.sin_port));
}

TEST(Observability, MetricsPageAndHealthzReportWhatHappened) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "name = \"chat\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  for (int i = 0; i < 3; ++i) {
    net::Fd fd = connect_to("127.0.0.1", port);
    ASSERT_TRUE(send_all(fd.get(), "12345") && recv_exact(fd.get(), 5));
  }
  ASSERT_TRUE(proxy.wait_metric("ferry_connections_closed_total", {"listener=\"chat\""}, 3));
  std::string m = proxy.metrics();
  EXPECT_EQ(metric(m, "ferry_connections_accepted_total", {"listener=\"chat\""}), 3);
  EXPECT_EQ(metric(m, "ferry_connections_active", {"listener=\"chat\""}), 0);
  EXPECT_EQ(metric(m, "ferry_bytes_total", {"listener=\"chat\"", "client_to_upstream"}), 15);
  EXPECT_EQ(metric(m, "ferry_bytes_total", {"listener=\"chat\"", "upstream_to_client"}), 15);
  EXPECT_EQ(metric(m, "ferry_upstream_server_up"), 1);
  EXPECT_NE(m.find("# TYPE ferry_connections_accepted_total counter"), std::string::npos);

  int status = 0;
  auto page = http_get(proxy.stats_port(), "/", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(page->find("<td>chat</td>"), std::string::npos);
  auto health = http_get(proxy.stats_port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(*health, "ok\n");
  http_get(proxy.stats_port(), "/nothing-here", &status);
  EXPECT_EQ(status, 404);
}

TEST(Observability, StatsRefuseWhatIsNotAPlainGet) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  std::vector<std::string> requests = {
      "POST /metrics HTTP/1.1\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
      std::string(9000, 'A')};
  for (const std::string& req : requests) {
    net::Fd fd = connect_to("127.0.0.1", proxy.stats_port());
    ASSERT_TRUE(send_all(fd.get(), req));
    auto head = recv_exact(fd.get(), 12, 3s);
    ASSERT_TRUE(head);
    EXPECT_TRUE(*head == "HTTP/1.1 400" || *head == "HTTP/1.1 405") << *head;
  }
  EXPECT_TRUE(proxy.process().running());
}

TEST(Observability, IdleConnectionsCannotLockTheProbesOut) {
  // Every slot of the stats endpoint taken by connections that say nothing
  // (anyone who can reach it can do that): a liveness probe still gets its
  // answer, because the oldest silent one makes room.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  std::vector<net::Fd> idle;
  for (int i = 0; i < 80; ++i) idle.push_back(connect_to("127.0.0.1", proxy.stats_port()));
  for (int i = 0; i < 3; ++i) {
    int status = 0;
    auto health = http_get(proxy.stats_port(), "/healthz", &status);
    ASSERT_TRUE(health) << "probe " << i << " got no answer";
    EXPECT_EQ(status, 200);
  }
}

TEST(Observability, ARequestFollowedByAHalfCloseIsAnswered) {
  // As `nc -N` and some probes send it.
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", proxy.stats_port());
  ASSERT_TRUE(send_all(fd.get(), "GET /healthz HTTP/1.0\r\n\r\n"));
  ::shutdown(fd.get(), SHUT_WR);
  auto head = recv_exact(fd.get(), 12, 3s);
  ASSERT_TRUE(head) << "no answer";
  EXPECT_EQ(*head, "HTTP/1.1 200");
}

TEST(Observability, LogsNeverNameAClientByDefault) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(
      simple_config(port, up.port(), "log_level = \"debug\"\n", "accept_proxy = true\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  // A relayed connection, and a refused header, from a known client address.
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(fd.get(), "PROXY TCP4 198.51.100.77 192.0.2.1 40000 443\r\nhi"));
  ASSERT_TRUE(recv_exact(fd.get(), 2));
  std::string own_port = client_port_text(fd.get());
  fd.reset();
  net::Fd bad = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(bad.get(), "PROXY nonsense\r\n"));
  EXPECT_TRUE(wait_closed(bad.get()));
  ASSERT_TRUE(proxy.process().wait_for_log("event=connection_closed", 5s));
  ASSERT_TRUE(proxy.process().wait_for_log("event=proxy_header_invalid", 5s));
  std::string log = proxy.process().err();
  EXPECT_EQ(log.find("198.51.100.77"), std::string::npos) << log;
  EXPECT_EQ(log.find(":" + own_port), std::string::npos) << log;
  EXPECT_NE(log.find("client=-"), std::string::npos) << log;
}

TEST(Observability, LogsNameClientsWhenAskedTo) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(),
                                   "log_level = \"debug\"\nlog_client_addresses = true\n",
                                   "accept_proxy = true\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(fd.get(), "PROXY TCP4 198.51.100.77 192.0.2.1 40000 443\r\nhi"));
  ASSERT_TRUE(recv_exact(fd.get(), 2));
  fd.reset();
  ASSERT_TRUE(proxy.process().wait_for_log("client=198.51.100.77:40000", 5s))
      << proxy.process().err();
}

}  // namespace
}  // namespace ferry::test
