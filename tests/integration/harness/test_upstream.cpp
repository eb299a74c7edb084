#include "test_upstream.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "harness.h"
#include "net/address.h"
#include "net/socket.h"

namespace ferry::test {

class TestUpstream::Conn final : public net::IoHandler {
 public:
  Conn(TestUpstream& owner, net::Fd fd, size_t index)
      : owner_(owner), fd_(std::move(fd)), index_(index) {
    uint32_t ev = EPOLLOUT | EPOLLET | (owner.mode_ == Mode::stall ? 0u : EPOLLIN | EPOLLRDHUP);
    owner_.loop_.add(fd_.get(), ev, this);
  }
  ~Conn() { close(); }

  void on_io(uint32_t) override {
    if (!fd_) return;
    // Edge-triggered: keep going until reading and writing both block.
    char buf[65536];
    for (;;) {
      if (owner_.mode_ == Mode::echo || eof_) flush();
      if (!fd_) return;
      if (eof_ || out_.size() >= (1u << 20)) break;
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) {
        owner_.record(index_, buf, static_cast<size_t>(n));
        out_.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        eof_ = true;
        owner_.eofs_.fetch_add(1);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return close();
      break;
    }
    if (eof_ && out_.empty()) close();
  }

 private:
  void flush() {
    while (!out_.empty()) {
      ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out_.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      return close();
    }
  }
  void close() {
    if (fd_) {
      fd_.reset();
      owner_.open_.fetch_sub(1);
    }
  }

  TestUpstream& owner_;
  net::Fd fd_;
  size_t index_;
  std::string out_;
  bool eof_ = false;
};

class TestUpstream::Acceptor final : public net::IoHandler {
 public:
  Acceptor(TestUpstream& owner, net::Fd fd) : owner_(owner), fd_(std::move(fd)) {
    owner_.loop_.add(fd_.get(), EPOLLIN, this);
  }
  void on_io(uint32_t) override {
    for (int i = 0; i < 256; ++i) {
      int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      size_t index = owner_.accepted_.fetch_add(1);
      owner_.open_.fetch_add(1);
      auto* c = new Conn(owner_, net::Fd(fd), index);
      std::lock_guard lock(owner_.mu_);
      owner_.conns_.push_back(c);
    }
  }
  void close() {
    owner_.loop_.remove(fd_.get());
    fd_.reset();
  }

 private:
  TestUpstream& owner_;
  net::Fd fd_;
};

TestUpstream::TestUpstream(Mode mode, const std::string& host) : mode_(mode) {
  auto addr = net::SocketAddress::from_numeric(host, 0);
  std::string error;
  net::Fd fd = net::listen_tcp(*addr, {}, error);
  if (!fd) throw std::runtime_error(error);
  if (mode == Mode::stall) {
    // A small receive window (accepted sockets inherit it): what the relay
    // has sent stops soon, so it is the relay's own bytes that pile up.
    int bytes = 4096;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  port_ = net::local_address(fd.get()).port();
  acceptor_ = std::make_unique<Acceptor>(*this, std::move(fd));
  thread_ = std::thread([this] { loop_.run(); });
}

TestUpstream::~TestUpstream() {
  loop_.stop();
  thread_.join();
  acceptor_.reset();
  for (Conn* c : conns_) delete c;
}

void TestUpstream::close_listener() {
  std::atomic<bool> done{false};
  loop_.post([&] {
    acceptor_->close();
    done = true;
  });
  wait_until([&] { return done.load(); }, 5s);
}

void TestUpstream::record(size_t index, const char* data, size_t len) {
  std::lock_guard lock(mu_);
  if (first_.size() <= index) first_.resize(index + 1);
  std::string& s = first_[index];
  if (s.size() < 512) s.append(data, std::min(len, 512 - s.size()));
}

std::vector<std::string> TestUpstream::first_bytes() const {
  std::lock_guard lock(mu_);
  return first_;
}

}  // namespace ferry::test
