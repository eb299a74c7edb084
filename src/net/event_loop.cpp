#include "net/event_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace ferry::net {

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

namespace {
// data.ptr of the eventfd registration: never a real handler.
char g_wake_tag;
}  // namespace

EventLoop::EventLoop()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      now_ms_(monotonic_ms()),
      timers_(now_ms_),
      events_(256) {
  if (!epoll_ || !wake_fd_) throw std::runtime_error("epoll/eventfd: " + std::to_string(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &g_wake_tag;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev);
}

EventLoop::~EventLoop() {
  bury();
}

bool EventLoop::use_ring(const Ring::Options& opts, std::string& error) {
  ring_ = Ring::create(opts, error);
  if (!ring_) return false;
  epoll_watch_.loop = this;
  watch_epoll();
  return true;
}

void EventLoop::watch_epoll() {
  io_uring_prep_poll_multishot(ring_->sqe(&epoll_watch_), epoll_.get(), POLLIN);
}

void EventLoop::EpollWatch::on_complete(int res, uint32_t flags, uint8_t /*tag*/) {
  loop->epoll_ready_ = true;
  if ((flags & IORING_CQE_F_MORE) == 0 && res != -ECANCELED) loop->watch_epoll();
}

bool EventLoop::add(int fd, uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, uint32_t events, IoHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::update_now() {
  now_ms_ = monotonic_ms();
}

void EventLoop::run() {
  stop_requested_ = false;
  while (!stop_requested_) run_once(-1);
}

void EventLoop::unqueue(IoHandler* h) {
  for (auto* list : {&ready_, &running_}) {
    for (Ready& r : *list) {
      if (r.handler == h) r.handler = nullptr;
    }
  }
}

void EventLoop::run_once(int max_wait_ms) {
  int timeout = timers_.next_timeout_ms(now_ms_);
  if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms)) timeout = max_wait_ms;
  if (!ready_.empty()) timeout = 0;
  int n = ring_ ? wait_ring(timeout) : wait_epoll(timeout);
  running_.swap(ready_);
  for (const Ready& r : running_) {
    if (r.handler != nullptr) r.handler->on_io(r.events);
  }
  running_.clear();
  for (int i = 0; i < n; ++i) {
    void* ptr = events_[i].data.ptr;
    if (ptr == &g_wake_tag) {
      drain_posted();
      continue;
    }
    static_cast<IoHandler*>(ptr)->on_io(events_[i].events);
  }
  timers_.advance(now_ms_);
  bury();
}

int EventLoop::wait_epoll(int timeout_ms) {
  int n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout_ms);
  update_now();
  return n;
}

int EventLoop::wait_ring(int timeout_ms) {
  if (!ring_->enable()) throw std::runtime_error("io_uring: cannot enable the ring");
  ring_->wait(epoll_ready_ ? 0 : timeout_ms);
  update_now();
  ring_->dispatch();
  if (!epoll_ready_) return 0;
  int n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), 0);
  // Level-triggered sources (listeners) that still have work do not wake the
  // ring's poll again: look once more on the next iteration.
  epoll_ready_ = n > 0;
  return n < 0 ? 0 : n;
}

void EventLoop::stop() {
  {
    std::lock_guard lock(posted_mu_);
    posted_.emplace_back([this] { stop_requested_ = true; });
  }
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_.get(), &one, sizeof one);
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_.get(), &one, sizeof one);
}

void EventLoop::drain_posted() {
  uint64_t count = 0;
  [[maybe_unused]] auto r = ::read(wake_fd_.get(), &count, sizeof count);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

void EventLoop::bury() {
  // Deleting may defer more deletions; loop until none are left.
  while (!graveyard_.empty()) {
    std::vector<Deferred*> dead;
    dead.swap(graveyard_);
    for (Deferred* d : dead) delete d;
  }
}

}  // namespace ferry::net
