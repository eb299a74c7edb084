// A thin level-triggered epoll set. Each registration carries a 64-bit tag
// chosen by the caller (slot index and generation in the bench tools).
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <span>

#include "net/fd.h"

namespace ferry::bench {

class Poller {
 public:
  Poller() : ep_(::epoll_create1(EPOLL_CLOEXEC)) {}
  bool ok() const { return ep_.valid(); }

  bool add(int fd, uint32_t events, uint64_t tag) { return ctl(EPOLL_CTL_ADD, fd, events, tag); }
  bool modify(int fd, uint32_t events, uint64_t tag) { return ctl(EPOLL_CTL_MOD, fd, events, tag); }
  void remove(int fd) { ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr); }

  // Number of events (0 on timeout or EINTR).
  int wait(std::span<epoll_event> out, int timeout_ms) {
    int n = ::epoll_wait(ep_.get(), out.data(), static_cast<int>(out.size()), timeout_ms);
    return n < 0 ? 0 : n;
  }

 private:
  bool ctl(int op, int fd, uint32_t events, uint64_t tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return ::epoll_ctl(ep_.get(), op, fd, &ev) == 0;
  }
  net::Fd ep_;
};

}  // namespace ferry::bench
