#include "bare_relay_worker.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "support/tcp.h"

namespace ferry::bench {
namespace {
// Tags below routes_.size() are listeners; a connection's tag is its fd + this.
constexpr uint64_t kFdTagBase = 1U << 16;
constexpr uint32_t kConnEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
}  // namespace

BareRelayWorker::BareRelayWorker(const std::vector<BareRoute>& routes) : routes_(routes) {
  if (!poller_.ok()) error_ = std::string("epoll: ") + std::strerror(errno);
  for (size_t i = 0; i < routes_.size() && error_.empty(); ++i) {
    int err = 0;
    net::Fd fd = listen_reuseport(routes_[i].listen, 4096, err);
    if (!fd) {
      error_ = "listen " + routes_[i].listen.text + ": " + std::strerror(err);
      break;
    }
    set_nodelay(fd.get());  // accepted sockets inherit it: no setsockopt per client
    if (!poller_.add(fd.get(), EPOLLIN, i)) error_ = std::string("epoll: ") + std::strerror(errno);
    listeners_.push_back(std::move(fd));
  }
}

void BareRelayWorker::run(const std::atomic<bool>& stop) {
  std::array<epoll_event, 256> events{};
  while (!stop.load(std::memory_order_relaxed)) {
    int n = poller_.wait(events, 100);
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events[static_cast<size_t>(i)];
      if (ev.data.u64 < kFdTagBase) {
        accept_all(ev.data.u64);
        continue;
      }
      auto fd = static_cast<size_t>(ev.data.u64 - kFdTagBase);
      // A pair closed earlier in this batch leaves a null entry (or a new
      // connection on the same fd, which then sees a harmless extra event).
      if (fd < by_fd_.size() && by_fd_[fd] != nullptr) on_event(*by_fd_[fd], ev.events);
    }
  }
  for (End* e : by_fd_) {
    if (e != nullptr && e == &e->pair->ends[0]) close_pair(*e->pair);
  }
}

void BareRelayWorker::accept_all(size_t route) {
  for (int i = 0; i < 256; ++i) {  // bounded, so established connections are not starved
    int client = ::accept4(listeners_[route].get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;
    int err = 0;
    net::Fd upstream = start_connect(routes_[route].upstream, err);
    if (!upstream) {
      ::close(client);
      continue;
    }
    auto* pair = new Pair;
    pair->ends[0].fd.reset(client);
    pair->ends[1].fd = std::move(upstream);
    pair->ends[1].connected = false;
    for (End& e : pair->ends) {
      e.pair = pair;
      auto fd = static_cast<size_t>(e.fd.get());
      if (fd >= by_fd_.size()) by_fd_.resize(fd + 1024, nullptr);
      by_fd_[fd] = &e;
    }
    if (!poller_.add(client, kConnEvents, kFdTagBase + static_cast<uint64_t>(client)) ||
        !poller_.add(pair->ends[1].fd.get(), kConnEvents,
                     kFdTagBase + static_cast<uint64_t>(pair->ends[1].fd.get()))) {
      close_pair(*pair);
    }
  }
}

void BareRelayWorker::on_event(End& e, uint32_t events) {
  Pair& pair = *e.pair;
  if ((events & EPOLLERR) != 0) {
    close_pair(pair);
    return;
  }
  if (!e.connected) {
    if ((events & EPOLLOUT) == 0) return;
    e.connected = true;  // edge-triggered EPOLLOUT without EPOLLERR: the connect completed
  }
  const int fd = e.fd.get();
  if ((events & EPOLLOUT) != 0 && e.pending_off < e.pending.size()) {
    bool drained = flush(e);
    if (!alive(fd, e)) return;
    End& src = pair.other(e);
    if (drained && !src.read_eof) {
      read_from(src, false);  // it stopped reading while this end was full
      if (!alive(fd, e)) return;
    }
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0 && !e.read_eof) {
    read_from(e, (events & EPOLLRDHUP) != 0);
  }
}

void BareRelayWorker::read_from(End& src, bool fin_seen) {
  Pair& pair = *src.pair;
  End& dst = pair.other(src);
  if (dst.pending_off < dst.pending.size()) return;  // backpressure: resumed by flush
  while (true) {
    ssize_t n = ::recv(src.fd.get(), scratch_.data(), scratch_.size(), 0);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) close_pair(pair);
      return;
    }
    if (n == 0) break;
    auto got = static_cast<size_t>(n);
    if (!dst.connected) {  // sent when the connect completes
      dst.pending.assign(scratch_.begin(), scratch_.begin() + n);
      return;
    }
    size_t sent = 0;
    while (sent < got) {
      ssize_t k = ::send(dst.fd.get(), scratch_.data() + sent, got - sent, MSG_NOSIGNAL);
      if (k < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) {
          close_pair(pair);
          return;
        }
        // The peer is slow: keep the rest (allocated only now) until EPOLLOUT.
        dst.pending.assign(scratch_.begin() + static_cast<ptrdiff_t>(sent), scratch_.begin() + n);
        dst.pending_off = 0;
        return;
      }
      sent += static_cast<size_t>(k);
    }
    if (got < scratch_.size()) {
      if (!fin_seen) return;  // drained; the next bytes bring a new edge
      break;                  // drained, and the FIN was already there
    }
  }
  src.read_eof = true;
  if (dst.read_eof || !dst.connected) {
    close_pair(pair);  // close() sends the last direction's FIN
    return;
  }
  ::shutdown(dst.fd.get(), SHUT_WR);
}

// Sends what is pending for `dst`; true once all of it is gone.
bool BareRelayWorker::flush(End& dst) {
  while (dst.pending_off < dst.pending.size()) {
    ssize_t sent = ::send(dst.fd.get(), dst.pending.data() + dst.pending_off,
                          dst.pending.size() - dst.pending_off, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN) return false;  // EPOLLOUT resumes it
      if (errno != EINTR) {
        close_pair(*dst.pair);
        return false;
      }
      continue;
    }
    dst.pending_off += static_cast<size_t>(sent);
  }
  std::vector<unsigned char>().swap(dst.pending);  // an idle connection keeps no buffer
  dst.pending_off = 0;
  return true;
}

bool BareRelayWorker::alive(int fd, const End& e) const {
  return static_cast<size_t>(fd) < by_fd_.size() && by_fd_[static_cast<size_t>(fd)] == &e;
}

void BareRelayWorker::close_pair(Pair& p) {
  for (End& e : p.ends) {
    if (e.fd) by_fd_[static_cast<size_t>(e.fd.get())] = nullptr;
  }
  delete &p;  // closes both fds, which also leaves the epoll set
}

}  // namespace ferry::bench
