// The client's Connection against a server that does not play by the rules:
// what the client keeps of it is bounded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "chat/client/connection.h"
#include "chat/client/errors.h"
#include "crypto/noise/pipes.h"
#include "crypto/primitives/dh.h"
#include "net/fd.h"

namespace ferry::chat::client {
namespace {

using crypto::Bytes;
using crypto::ByteView;

bool write_all(int fd, ByteView bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool write_frame(int fd, ByteView body) {
  const uint8_t length[2] = {static_cast<uint8_t>(body.size() >> 8),
                             static_cast<uint8_t>(body.size() & 0xff)};
  return write_all(fd, {length, 2}) && write_all(fd, body);
}

std::optional<Bytes> read_frame(int fd) {
  auto read_exact = [fd](size_t n) -> std::optional<Bytes> {
    Bytes out(n);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::recv(fd, out.data() + done, n - done, 0);
      if (r <= 0) return std::nullopt;
      done += static_cast<size_t>(r);
    }
    return out;
  };
  auto header = read_exact(2);
  if (!header) return std::nullopt;
  return read_exact((size_t{(*header)[0]} << 8) | (*header)[1]);
}

// A server that completes the Noise handshake (IK: the client pins its key)
// and then pushes envelopes nobody acknowledges, up to `limit` bytes or
// until the client hangs up.
class FloodingServer {
 public:
  explicit FloodingServer(size_t limit) : limit_(limit) {
    listener_ = net::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listener_.get(), 1) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FloodingServer() {
    ::shutdown(listener_.get(), SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string public_key() const {
    return std::string(key_.public_key.begin(), key_.public_key.end());
  }
  size_t pushed() const { return pushed_.load(); }

 private:
  void serve() {
    net::Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    timeval tv{10, 0};  // nothing here waits on the client for longer
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto responder = crypto::noise::PipesResponder::create(
        key_, crypto::as_bytes(crypto::noise::kFerryPrologue));
    if (!responder) return;
    for (int step = 0; step < 4 && !responder->is_complete(); ++step) {
      if (responder->needs_write()) {
        auto msg = responder->write_message({});
        if (!msg || !write_frame(c.get(), *msg)) return;
      } else {
        auto frame = read_frame(c.get());
        if (!frame || !responder->read_message(*frame)) return;
      }
    }
    auto transport = responder->split();
    if (!transport) return;
    pb::Response push;
    auto* e = push.mutable_envelopes()->add_envelopes();
    e->set_sender("mallory");
    e->set_content(std::string(60'000, 'x'));
    for (uint64_t id = 1; pushed_ < limit_; ++id) {
      e->set_id(id);
      std::string plain;
      push.AppendToString(&plain);
      auto sealed = transport->send.encrypt(crypto::as_bytes(plain));
      if (!sealed || !write_frame(c.get(), *sealed)) return;  // the client hung up
      pushed_ += plain.size();
    }
  }

  size_t limit_;
  crypto::DhKeyPair key_ = crypto::dh_generate(crypto::DhKind::x25519);
  net::Fd listener_;
  uint16_t port_ = 0;
  std::atomic<size_t> pushed_{0};
  std::thread thread_;
};

TEST(ClientConnection, AServerThatPushesWithoutEndIsRefusedNotBuffered) {
  constexpr size_t kFlood = size_t{160} << 20;  // more than the client may keep
  FloodingServer server(kFlood);
  ASSERT_NE(server.port(), 0);
  auto login = crypto::dh_generate(crypto::DhKind::x25519);
  Target target{net::HostPort{"127.0.0.1", server.port()}};
  auto conn = Connection::open(target, login, server.public_key(), now_ms() + 10'000);
  // Read without taking anything out, as while a long send is flushed.
  std::string error;
  const uint64_t deadline = now_ms() + 60'000;
  while (error.empty() && now_ms() < deadline) {
    pollfd p{conn->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    try {
      conn->pump_now();
    } catch (const ClientError& e) {
      error = e.what();
    }
  }
  EXPECT_NE(error.find("128 MiB"), std::string::npos) << "error: '" << error << "'";
  // What it had decoded is still there to take, in order.
  auto first = conn->next_now();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->has_envelopes());
  EXPECT_EQ(first->envelopes().envelopes(0).id(), 1u);
  conn.reset();  // hangs up: the server stops
  EXPECT_LT(server.pushed(), kFlood) << "the client read it all";
}

}  // namespace
}  // namespace ferry::chat::client
