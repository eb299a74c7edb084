// The relay: byte-exact both ways, half-close, bounded memory with a slow
// reader, idle and connect timeouts.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

#include "harness/test_upstream.h"
#include "net/socket.h"
#include "proxy_fixture.h"

namespace ferry::test {
namespace {

// Sends `data` while reading the echo on the same socket; returns the echo.
std::string echo_through(int fd, const std::string& data) {
  std::string back(data.size(), '\0');
  std::thread writer([&] { EXPECT_TRUE(send_all(fd, data, 60s)); });
  bool ok = recv_exact(fd, back.data(), back.size(), 60s);
  writer.join();
  EXPECT_TRUE(ok);
  return back;
}

TEST(Relay, Moves64MiBEachWayByteExact) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  std::string data = random_bytes(64 << 20, 1);
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(fd);
  std::string back = echo_through(fd.get(), data);
  EXPECT_TRUE(back == data) << "echo differs from what was sent";
  ::shutdown(fd.get(), SHUT_WR);
  EXPECT_TRUE(wait_closed(fd.get()));
  EXPECT_TRUE(proxy.wait_metric("ferry_bytes_total", {"client_to_upstream"}, 64 << 20));
  EXPECT_EQ(proxy.metric("ferry_bytes_total", {"upstream_to_client"}), 64 << 20);
}

TEST(Relay, PassesHalfCloseOnAndKeepsTheOtherDirectionOpen) {
  // The upstream answers only after it saw EOF: the answer can only arrive
  // if the proxy turned the client's FIN into shutdown(SHUT_WR) upstream and
  // kept the way back open.
  TestUpstream up(TestUpstream::Mode::echo_at_eof);
  uint16_t port = free_port();
  // No health checks: their connects would count as EOFs too.
  RunningProxy proxy(simple_config(port, up.port(), "", "", "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(fd.get(), "question"));
  ASSERT_TRUE(stays_open(fd.get(), 200ms)) << "answer before EOF: no half-close test";
  ::shutdown(fd.get(), SHUT_WR);
  auto answer = recv_exact(fd.get(), 8);
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer, "question");
  EXPECT_TRUE(wait_closed(fd.get()));
  EXPECT_EQ(up.eofs(), 1u);
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_closed_total", {"reason=\"done\""}, 1))
      << proxy.metrics();
}

TEST(Relay, ASlowReaderDoesNotMakeTheProxyBuffer) {
  // The upstream never reads. Whatever the client pushes must stop in kernel
  // buffers, not in the proxy's memory.
  TestUpstream up(TestUpstream::Mode::stall);
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  long rss_before = proxy.process().rss_kib();

  net::Fd fd = connect_to("127.0.0.1", port);
  std::string chunk = random_bytes(1 << 20, 2);
  size_t sent = 0;
  // Push until the socket stays full for a while; at most 256 MiB.
  for (int i = 0; i < 256 && send_all(fd.get(), chunk, 1s); ++i) sent += chunk.size();
  long rss_after = proxy.process().rss_kib();
  EXPECT_LT(sent, 128u << 20) << "the proxy kept accepting: it is buffering";
  EXPECT_LT(rss_after - rss_before, 8 * 1024)
      << "RSS grew by " << (rss_after - rss_before) << " KiB";
}

TEST(Relay, AClientThatNeverReadsDoesNotMakeTheProxyBuffer) {
  TestUpstream up;  // echoes everything back at a client that does not read
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port()));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  long rss_before = proxy.process().rss_kib();
  net::Fd fd = connect_to("127.0.0.1", port);
  std::string chunk = random_bytes(1 << 20, 3);
  size_t sent = 0;
  for (int i = 0; i < 256 && send_all(fd.get(), chunk, 1s); ++i) sent += chunk.size();
  EXPECT_LT(sent, 128u << 20);
  EXPECT_LT(proxy.process().rss_kib() - rss_before, 8 * 1024);
}

TEST(Relay, PlainConnectionsUseTheRingByDefaultAndEpollWhenTurnedOff) {
  TestUpstream up;
  for (std::string setting : {"auto", "off"}) {
    SCOPED_TRACE("io_uring = " + setting);
    uint16_t port = free_port();
    RunningProxy proxy(simple_config(port, up.port(), "io_uring = \"" + setting + "\"\n"));
    ASSERT_TRUE(proxy.started()) << proxy.process().err();
    const std::string log = proxy.process().err();
    const bool ring = setting == "auto";
    if (ring && log.find("event=io_uring_unavailable") != std::string::npos)
      GTEST_SKIP() << "this kernel (or its seccomp profile) refuses io_uring: " << log;
    EXPECT_NE(log.find(ring ? " io=io_uring " : " io=epoll "), std::string::npos) << log;

    // Small messages, then bulk (which a ring connection hands to the epoll
    // relay's splice mid-stream), then small again: all byte-exact.
    net::Fd fd = connect_to("127.0.0.1", port);
    ASSERT_TRUE(fd);
    for (size_t size : {size_t{512}, size_t{8} << 20, size_t{512}}) {
      std::string data = random_bytes(size, static_cast<uint32_t>(size));
      EXPECT_TRUE(echo_through(fd.get(), data) == data) << size << " bytes came back changed";
    }
  }
}

TEST(Relay, StalledConnectionsDoNotStarveTheOthers) {
  // Clients push into an upstream that never reads, all on one worker. On
  // the ring a stalled connection keeps its bytes on its own heap and gives
  // the worker's receive buffers back, so the next connection still moves,
  // and what the proxy holds is bounded per connection.
  TestUpstream stalled(TestUpstream::Mode::stall);
  TestUpstream echo;
  uint16_t stall_port = free_port();
  uint16_t echo_port = free_port();
  auto text = [](uint16_t port) { return std::to_string(port); };
  RunningProxy proxy(
      "workers = 1\n[stats]\nlisten = \"127.0.0.1:{stats}\"\n"
      "[[listener]]\nlisten = \"127.0.0.1:" +
      text(stall_port) +
      "\"\nupstream = \"stalled\"\n"
      "[[listener]]\nlisten = \"127.0.0.1:" +
      text(echo_port) +
      "\"\nupstream = \"echo\"\n"
      "[upstream.stalled]\nservers = [\"127.0.0.1:" +
      text(stalled.port()) +
      "\"]\nhealth_check_interval = \"0s\"\n"
      "[upstream.echo]\nservers = [\"127.0.0.1:" +
      text(echo.port()) + "\"]\nhealth_check_interval = \"0s\"\n");
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  const long rss_before = proxy.process().rss_kib();

  // Small paced writes, round robin: a receive takes one message (even four
  // of 4,000 B fit one 16 KiB pool buffer), never a full buffer, so no
  // stalled connection turns bulk and leaves the ring for the epoll relay.
  // Their bytes keep arriving after the upstream stopped reading: a relay
  // that held pool buffers for them (24 x 64 KiB in 4 KB receives is 384
  // buffers) would leave none of the 256 for the connection below.
  // Checked: with the pool buffer kept instead of given back, round 0 fails.
  constexpr int kStalled = 24;
  const std::string message = random_bytes(4000, 11);
  std::vector<net::Fd> clients;
  for (int i = 0; i < kStalled; ++i) {
    clients.push_back(connect_to("127.0.0.1", stall_port));
    ASSERT_TRUE(clients.back());
    // A fixed send buffer (no autotuning): full soon after the proxy stops.
    int bytes = 64 << 10;
    ::setsockopt(clients.back().get(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
  // Until every client's way is full (at most 4,000 rounds of 1 ms).
  std::vector<bool> full(kStalled, false);
  int full_count = 0;
  for (int round = 0; round < 4000 && full_count < kStalled; ++round) {
    for (int i = 0; i < kStalled; ++i) {
      if (full[i]) continue;
      ssize_t n =
          ::send(clients[i].get(), message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) FAIL() << "send: " << std::strerror(errno);
      if (n < 0) {
        full[i] = true;
        ++full_count;
      }
    }
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(full_count, kStalled) << "a stalled client never filled its way";
  // Wait until the proxy stopped reading them (its byte count holds still
  // for 300 ms): every stalled connection now holds what it may hold.
  double read = -1;
  int still = 0;
  for (int i = 0; i < 100 && still < 3; ++i) {
    std::this_thread::sleep_for(100ms);
    double now = proxy.metric("ferry_bytes_total", {"client_to_upstream"});
    still = now == read ? still + 1 : 0;
    read = now;
  }
  ASSERT_EQ(still, 3) << "the proxy never stopped reading the stalled clients";
  // A connection on the other listener, same worker, still moves.
  net::Fd fd = connect_to("127.0.0.1", echo_port);
  ASSERT_TRUE(fd);
  for (uint32_t round = 0; round < 50; ++round) {
    std::string ping = random_bytes(512, round);
    ASSERT_TRUE(send_all(fd.get(), ping, 5s)) << "round " << round;
    auto back = recv_exact(fd.get(), ping.size(), 5s);
    ASSERT_TRUE(back && *back == ping) << "round " << round;
  }
  // Bounded per connection (what a sink that stopped reading may cost is
  // two 64 KiB batches), plus the worker's receive pool (4 MiB) once.
  EXPECT_LT(proxy.process().rss_kib() - rss_before, 4096 + kStalled * 512L);
}

TEST(Relay, AStalledDownloadDoesNotHoldUpTheUpload) {
  // The two directions are independent: the upstream streams to a client
  // that does not read, then the client uploads 2 MiB. The upload must get
  // through while the download stays stuck; both arrive byte-exact once the
  // client reads. On the ring, the upload's first full buffer hands the
  // connection over to the epoll relay while the download's sink is full:
  // the hand-over must not wait for that sink.
  auto any = net::SocketAddress::from_numeric("127.0.0.1", 0);
  std::string error;
  net::Fd listener = net::listen_tcp(*any, {}, error);
  ASSERT_TRUE(listener) << error;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, net::local_address(listener.get()).port(), "", "",
                                   "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd client = connect_to("127.0.0.1", port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(poll_for(listener.get(), POLLIN, Clock::now() + 5s));
  net::Fd upstream(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  ASSERT_TRUE(upstream);

  // Download: 4,000 B a millisecond (never a full 16 KiB receive, so the
  // ring keeps it) until the way to the client stays full for 300 ms.
  const std::string download = random_bytes(32 << 20, 21);
  size_t written = 0;
  while (written + 4000 <= download.size()) {
    ssize_t n = ::send(upstream.get(), download.data() + written, 4000, MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<size_t>(n);
      std::this_thread::sleep_for(1ms);
    } else if (n < 0 && errno == EAGAIN) {
      if (!poll_for(upstream.get(), POLLOUT, Clock::now() + 300ms)) break;
    } else {
      FAIL() << "upstream send: " << std::strerror(errno);
    }
  }
  ASSERT_LT(written + 4000, download.size()) << "the download never stalled";

  // Upload, read by the upstream as it comes.
  const std::string upload = random_bytes(2 << 20, 22);
  std::string uploaded;
  std::thread reader([&] {
    auto deadline = Clock::now() + 20s;
    char buf[65536];
    while (uploaded.size() < upload.size() && poll_for(upstream.get(), POLLIN, deadline)) {
      ssize_t n = ::recv(upstream.get(), buf, sizeof buf, 0);
      if (n > 0) uploaded.append(buf, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN)) break;
    }
  });
  EXPECT_TRUE(send_all(client.get(), upload, 10s)) << "the upload waited for the download";
  reader.join();
  EXPECT_TRUE(uploaded == upload) << "upstream got " << uploaded.size() << " of " << upload.size();

  // Now the client reads: the whole download, then the FIN.
  ::shutdown(upstream.get(), SHUT_WR);
  auto downloaded = recv_exact(client.get(), written, 20s);
  ASSERT_TRUE(downloaded) << "the download did not arrive";
  EXPECT_TRUE(*downloaded == download.substr(0, written)) << "the download came back changed";
  EXPECT_TRUE(wait_closed(client.get(), 5s)) << "the FIN did not follow the download";
}

TEST(Relay, ClosesIdleConnections) {
  TestUpstream up;
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "[limits]\nidle_timeout = \"300ms\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(fd.get(), "ping"));
  ASSERT_TRUE(recv_exact(fd.get(), 4));
  // Traffic keeps it alive past the timeout...
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(150ms);
    ASSERT_TRUE(send_all(fd.get(), "ping"));
    ASSERT_TRUE(recv_exact(fd.get(), 4)) << "closed while active, round " << i;
  }
  // ...and silence ends it.
  EXPECT_TRUE(wait_closed(fd.get(), 3s));
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_closed_total", {"reason=\"idle_timeout\""}, 1));
}

TEST(Relay, GivesUpOnAnUpstreamThatDoesNotAnswerWithinConnectTimeout) {
  // A listener whose accept queue is full drops SYNs: connect() hangs.
  auto addr = net::SocketAddress::from_numeric("127.0.0.1", 0);
  std::string error;
  net::ListenOptions opts;
  opts.backlog = 1;
  net::Fd black_hole = net::listen_tcp(*addr, opts, error);
  uint16_t hole_port = net::local_address(black_hole.get()).port();
  std::vector<net::Fd> fillers;
  for (int i = 0; i < 4; ++i) {
    auto a = net::SocketAddress::from_numeric("127.0.0.1", hole_port);
    int err = 0;
    fillers.push_back(net::connect_tcp(*a, err));
  }
  std::this_thread::sleep_for(100ms);  // let the handshakes fill the queue

  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, hole_port, "[limits]\nconnect_timeout = \"300ms\"\n", "",
                                   "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(fd);
  auto t0 = Clock::now();
  EXPECT_TRUE(wait_closed(fd.get(), 5s));
  EXPECT_LT(Clock::now() - t0, 4s);
  EXPECT_TRUE(
      proxy.wait_metric("ferry_connections_closed_total", {"reason=\"connect_failed\""}, 1));
  EXPECT_GE(proxy.metric("ferry_upstream_connect_failures_total"), 1);
}

}  // namespace
}  // namespace ferry::test

namespace ferry::test {
namespace {

TEST(Relay, AHalfCloseAfterAQuietSpellStillGetsTheAnswer) {
  // fin_timeout runs from the half-close, not from the last byte: a client
  // that was quiet for longer than fin_timeout and then half-closes must
  // still get the answer the upstream sends after the FIN.
  TestUpstream up(TestUpstream::Mode::echo_at_eof);
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "[limits]\nfin_timeout = \"300ms\"\n", "",
                                   "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  net::Fd fd = connect_to("127.0.0.1", port);
  ASSERT_TRUE(send_all(fd.get(), "question"));
  ASSERT_TRUE(stays_open(fd.get(), 600ms)) << "closed while merely quiet";
  ::shutdown(fd.get(), SHUT_WR);
  EXPECT_EQ(recv_exact(fd.get(), 8), "question");
  EXPECT_TRUE(wait_closed(fd.get()));
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_closed_total", {"reason=\"done\""}, 1))
      << proxy.metrics();
}

// Bytes waiting in the receive queue of the proxy's established sockets on
// `port` (the client's connection), from /proc/net/tcp.
size_t proxy_recv_queue(uint16_t port) {
  char hex_port[8];
  std::snprintf(hex_port, sizeof hex_port, ":%04X", port);
  std::istringstream lines(read_file("/proc/net/tcp"));
  std::string line;
  size_t queued = 0;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, state, queues;
    f >> slot >> local >> remote >> state >> queues;
    if (state != "01" || !local.ends_with(hex_port) || queues.find(':') == std::string::npos)
      continue;
    queued += std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16);
  }
  return queued;
}

TEST(Relay, AFinThatArrivesWhileTheUpstreamIsFullIsPassedOn) {
  // The FIN's only edge comes while the proxy cannot write upstream. When
  // the upstream reads again the proxy must read the client's socket to the
  // end, not stop at a short read and wait for an edge that never comes.
  net::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int small = 4096;
  const int segment = 536;  // keeps the proxy's send buffer small too
  ::setsockopt(listener.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ::setsockopt(listener.get(), IPPROTO_TCP, TCP_MAXSEG, &segment, sizeof segment);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, ntohs(addr.sin_port), "[limits]\nidle_timeout = \"60s\"\n",
                                   "", "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();

  net::Fd client = connect_to("127.0.0.1", port);
  ASSERT_TRUE(poll_for(listener.get(), POLLIN, Clock::now() + 5s));
  net::Fd upstream(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(upstream);
  // Small writes (short reads: no splice) until the proxy stops reading:
  // its receive queue stays non-empty for 20 checks in a row.
  std::string sent;
  const std::string chunk(1024, 'x');
  for (int i = 0, stuck = 0; i < 4000 && stuck < 20; ++i) {
    ASSERT_TRUE(send_all(client.get(), chunk));
    sent += chunk;
    std::this_thread::sleep_for(1ms);
    stuck = proxy_recv_queue(port) > 0 ? stuck + 1 : 0;
  }
  ASSERT_GT(proxy_recv_queue(port), 0u) << "the proxy never stopped reading";
  ASSERT_TRUE(send_all(client.get(), std::string(100, 'y')));
  sent += std::string(100, 'y');
  ::shutdown(client.get(), SHUT_WR);
  std::this_thread::sleep_for(100ms);  // the FIN's edge arrives while the proxy is blocked

  std::string got(sent.size(), '\0');
  ASSERT_TRUE(recv_exact(upstream.get(), got.data(), got.size(), 10s));
  EXPECT_TRUE(got == sent);
  EXPECT_TRUE(wait_closed(upstream.get(), 5s)) << "the client's FIN never reached the upstream";
}

TEST(Relay, AFinThatArrivesBeforeTheUpstreamIsConnectedIsNotLost) {
  // Header, bytes and FIN in one go: the FIN's only edge comes while the
  // proxy is still reading the header and dialling.
  TestUpstream up(TestUpstream::Mode::echo_at_eof);
  uint16_t port = free_port();
  RunningProxy proxy(simple_config(port, up.port(), "", "accept_proxy = true\n",
                                   "health_check_interval = \"0s\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.process().err();
  for (int i = 0; i < 20; ++i) {
    net::Fd fd = connect_to("127.0.0.1", port);
    ASSERT_TRUE(send_all(fd.get(), "PROXY TCP4 198.51.100.1 192.0.2.1 4000 443\r\nhello"));
    ::shutdown(fd.get(), SHUT_WR);
    EXPECT_EQ(recv_exact(fd.get(), 5), "hello") << "round " << i;
    EXPECT_TRUE(wait_closed(fd.get()));
  }
  EXPECT_TRUE(proxy.wait_metric("ferry_connections_closed_total", {"reason=\"done\""}, 20));
}

}  // namespace
}  // namespace ferry::test
