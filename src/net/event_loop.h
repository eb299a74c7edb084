// One epoll event loop per thread. Everything a connection does happens on the
// loop that accepted it, so the hot path takes no locks.
//
// Handlers are registered by pointer (epoll_event.data.ptr); a handler must
// stay alive until the loop is past the current batch of events, which
// defer_delete() guarantees.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/fd.h"
#include "net/timer_wheel.h"
#include "net/uring.h"

namespace ferry::net {

class IoHandler {
 public:
  virtual void on_io(uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

// Objects whose deletion must wait until the current event batch is done.
class Deferred {
 public:
  virtual ~Deferred() = default;
};

class EventLoop {
 public:
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Gives this loop an io_uring (see net/uring.h) for the relay's hot path;
  // epoll keeps serving everything else, its fd watched through the ring.
  // False with `error` set when the kernel cannot: the loop stays epoll-only.
  // Before the loop runs.
  bool use_ring(const Ring::Options& opts, std::string& error);
  void drop_ring() { ring_.reset(); }
  // nullptr when this loop is epoll-only.
  Ring* ring() { return ring_.get(); }

  // epoll registration. Return false with errno set on failure.
  bool add(int fd, uint32_t events, IoHandler* handler);
  bool modify(int fd, uint32_t events, IoHandler* handler);
  void remove(int fd);

  // Runs until stop(); returns after the batch in progress.
  void run();
  // Runs one iteration, waiting at most `max_wait_ms` (tests, tools).
  void run_once(int max_wait_ms);
  void stop();  // any thread

  // Runs `fn` on this loop's thread, soon. Any thread.
  void post(std::function<void()> fn);

  // Calls `h->on_io(events)` on the next iteration, without waiting for
  // epoll: for a handler that stopped early to let others run (fairness).
  // Loop thread only. unqueue() must be called if `h` dies before that.
  void requeue(IoHandler* h, uint32_t events) { ready_.push_back({h, events}); }
  void unqueue(IoHandler* h);

  // Deletes `obj` after the current batch of events. Loop thread only.
  void defer_delete(Deferred* obj) { graveyard_.push_back(obj); }

  // Monotonic milliseconds, read once per iteration.
  uint64_t now_ms() const { return now_ms_; }
  void update_now();

  TimerWheel& timers() { return timers_; }
  void schedule(Timer& t, uint64_t due_ms, TimerHandler* h) { timers_.schedule(t, due_ms, h); }
  void schedule_in(Timer& t, uint64_t delay_ms, TimerHandler* h) {
    timers_.schedule(t, now_ms_ + delay_ms, h);
  }

  bool stopping() const { return stop_requested_; }

 private:
  void drain_posted();
  void bury();
  // Waits for epoll events or ring completions; returns epoll's count.
  int wait_epoll(int timeout_ms);
  int wait_ring(int timeout_ms);

  // The epoll fd, polled through the ring when there is one.
  struct EpollWatch final : Completion {
    EventLoop* loop = nullptr;
    void on_complete(int res, uint32_t flags, uint8_t tag) override;
  };
  void watch_epoll();

  Fd epoll_;
  Fd wake_fd_;  // eventfd: post() and stop() from other threads
  uint64_t now_ms_ = 0;
  TimerWheel timers_;
  std::vector<Deferred*> graveyard_;
  struct Ready {
    IoHandler* handler;
    uint32_t events;
  };
  std::vector<Ready> ready_;
  std::vector<Ready> running_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
  bool stop_requested_ = false;
  std::vector<epoll_event> events_;
  std::unique_ptr<Ring> ring_;
  EpollWatch epoll_watch_;
  bool epoll_ready_ = false;  // epoll may hold events: look before sleeping
};

uint64_t monotonic_ms();

}  // namespace ferry::net
