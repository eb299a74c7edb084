#include "echo_worker.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "support/tcp.h"

namespace ferry::bench {
namespace {
constexpr uint64_t kListenerTag = ~0ULL;
}

EchoWorker::EchoWorker(const Endpoint& listen) {
  int err = 0;
  listener_ = listen_reuseport(listen, 4096, err);
  if (!listener_) {
    error_ = std::string("listen ") + listen.text + ": " + std::strerror(err);
    return;
  }
  reserve_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!poller_.add(listener_.get(), EPOLLIN, kListenerTag)) {
    error_ = std::string("epoll: ") + std::strerror(errno);
    listener_.reset();
  }
}

EchoWorker::Conn& EchoWorker::conn(int fd) {
  if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) + 1024);
  return conns_[static_cast<size_t>(fd)];
}

void EchoWorker::run(const std::atomic<bool>& stop) {
  std::array<epoll_event, 256> events{};
  while (!stop.load(std::memory_order_relaxed)) {
    int n = poller_.wait(events, 100);
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events[static_cast<size_t>(i)];
      if (ev.data.u64 == kListenerTag) {
        accept_all();
        continue;
      }
      int fd = static_cast<int>(ev.data.u64);
      if (!conn(fd).open) continue;
      if ((ev.events & EPOLLOUT) != 0) on_writable(fd);
      if (conn(fd).open && (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) on_readable(fd);
    }
  }
  for (size_t fd = 0; fd < conns_.size(); ++fd) {
    if (conns_[fd].open) close_conn(static_cast<int>(fd));
  }
}

void EchoWorker::accept_all() {
  // Bounded per wake-up so one busy listener cannot starve established connections.
  for (int i = 0; i < 256; ++i) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: accept and drop one so the backlog does not spin us.
        log::write_limited(log::Level::warn, "echo_out_of_fds", {});
        reserve_.reset();
        int dropped = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (dropped >= 0) ::close(dropped);
        reserve_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      }
      return;
    }
    set_nodelay(fd);
    Conn& c = conn(fd);
    c = Conn{};
    c.open = true;
    if (!poller_.add(fd, EPOLLIN, static_cast<uint64_t>(fd))) {
      close_conn(fd);
      continue;
    }
    ++accepted_;
  }
}

void EchoWorker::on_readable(int fd) {
  Conn& c = conn(fd);
  ssize_t n = ::recv(fd, scratch_.data(), scratch_.size(), 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) close_conn(fd);
    return;
  }
  if (n == 0) {
    // The peer is done sending; everything it sent has been echoed (we only
    // read while nothing is pending), so close.
    close_conn(fd);
    return;
  }
  ssize_t sent = ::send(fd, scratch_.data(), static_cast<size_t>(n), MSG_NOSIGNAL);
  if (sent < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      close_conn(fd);
      return;
    }
    sent = 0;
  }
  if (sent == n) return;
  c.pending.assign(scratch_.begin() + sent, scratch_.begin() + n);
  c.pending_off = 0;
  poller_.modify(fd, EPOLLOUT, static_cast<uint64_t>(fd));  // stop reading until flushed
}

void EchoWorker::on_writable(int fd) {
  Conn& c = conn(fd);
  if (c.pending_off >= c.pending.size()) return;
  ssize_t sent =
      ::send(fd, c.pending.data() + c.pending_off, c.pending.size() - c.pending_off, MSG_NOSIGNAL);
  if (sent < 0) {
    if (errno != EAGAIN && errno != EINTR) close_conn(fd);
    return;
  }
  c.pending_off += static_cast<size_t>(sent);
  if (c.pending_off < c.pending.size()) return;
  c.pending.clear();
  c.pending.shrink_to_fit();  // idle connections keep no buffer
  c.pending_off = 0;
  poller_.modify(fd, EPOLLIN, static_cast<uint64_t>(fd));
}

void EchoWorker::close_conn(int fd) {
  Conn& c = conn(fd);
  c = Conn{};
  ::close(fd);
}

}  // namespace ferry::bench
