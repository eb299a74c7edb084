// The io_uring relay on its own ring, over loopback TCP pairs the test makes:
// what it holds in memory for a sink that does not read, and that it still
// relays byte-exact once the sink reads.
#include "net/ring_relay.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "net/fd.h"
#include "net/uring.h"

namespace ferry::net {
namespace {

struct LoopbackPair {
  Fd relay_end;  // accepted: what the relay reads from or sends to
  Fd test_end;   // connected: the test's peer
};

// `relay_rcvbuf` and `test_rcvbuf`: SO_RCVBUF for each end, 0 to leave it.
LoopbackPair loopback_pair(int relay_rcvbuf, int test_rcvbuf) {
  LoopbackPair p;
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  // An accepted socket takes the listener's buffer sizes.
  if (relay_rcvbuf > 0) {
    ::setsockopt(listener.get(), SOL_SOCKET, SO_RCVBUF, &relay_rcvbuf, sizeof relay_rcvbuf);
  }
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return p;
  }
  p.test_end.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (test_rcvbuf > 0) {
    ::setsockopt(p.test_end.get(), SOL_SOCKET, SO_RCVBUF, &test_rcvbuf, sizeof test_rcvbuf);
  }
  if (::connect(p.test_end.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return p;
  p.relay_end.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  return p;
}

size_t queued_for_reading(int fd) {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 ? static_cast<size_t>(n) : 0;
}

class CountingOwner final : public RingRelay::Owner {
 public:
  void on_ring_relay() override { ++calls; }
  int calls = 0;
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

TEST(RingRelay, AMultishotReceiveOnALongQueueHoldsAtMostTheBacklogBound) {
  std::string error;
  std::unique_ptr<Ring> ring = Ring::create(Ring::Options{}, error);
  if (!ring) GTEST_SKIP() << "no io_uring here: " << error;
  ASSERT_TRUE(ring->enable());
  if (!ring->limits_multishot()) GTEST_SKIP() << "this kernel cannot limit a multishot receive";

  // The client has queued far more than the bound before the relay starts,
  // and the upstream reads nothing, with small buffers on its side.
  LoopbackPair client = loopback_pair(1 << 20, 0);
  LoopbackPair upstream = loopback_pair(0, 4096);
  ASSERT_TRUE(client.relay_end && upstream.relay_end);
  const int small = 4096;
  ::setsockopt(upstream.relay_end.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  const std::string sent = pattern(size_t{1} << 20);
  size_t written = 0;
  for (int i = 0; i < 64 && written < sent.size(); ++i) {
    ssize_t n = ::send(client.test_end.get(), sent.data() + written,
                       std::min<size_t>(16384, sent.size() - written), MSG_DONTWAIT);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const size_t bound = 2 * (RingRelay::kMaxWaiting + ring->buffer_size());
  // Settle: the kernel queues what was written before the relay reads.
  for (int i = 0; i < 100 && queued_for_reading(client.relay_end.get()) < written; ++i) {
    ::usleep(1000);
  }
  ASSERT_GE(queued_for_reading(client.relay_end.get()), 2 * bound)
      << "the test needs a socket queue well above the bound";

  CountingOwner owner;
  RingRelay relay(*ring, owner);
  relay.start(client.relay_end.get(), upstream.relay_end.get(), {});
  // Both directions held: in flight (a send waiting for room) and waiting,
  // each within kMaxWaiting plus one buffer.
  size_t most_held = 0;
  for (int i = 0; i < 50; ++i) {
    ring->wait(10);
    ring->dispatch();
    most_held = std::max(most_held, relay.held());
  }
  EXPECT_GT(owner.calls, 0);
  EXPECT_GT(most_held, 0u) << "the sink never fell behind: the test proves nothing";
  EXPECT_LE(most_held, bound);

  // The upstream reads now: every byte arrives, in order, across the
  // receives that ended at their limit and were armed again.
  std::string got;
  got.reserve(written);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[65536];
  while (got.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
    ring->wait(1);
    ring->dispatch();
    most_held = std::max(most_held, relay.held());
    ssize_t n = ::recv(upstream.test_end.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (written < sent.size()) {
      n = ::send(client.test_end.get(), sent.data() + written,
                 std::min<size_t>(16384, sent.size() - written), MSG_DONTWAIT);
      if (n > 0) written += static_cast<size_t>(n);
    }
  }
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "bytes differ";
  EXPECT_LE(most_held, bound);

  relay.abort();
  for (int i = 0; i < 100 && !relay.idle(); ++i) {
    ring->wait(10);
    ring->dispatch();
  }
  EXPECT_TRUE(relay.idle());
}

}  // namespace
}  // namespace ferry::net
