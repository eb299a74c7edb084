// A hashed timing wheel: O(1) arm and cancel, 10 ms resolution.
//
// Timers are intrusive (embedded in their owner), so arming one never
// allocates. Every proxy connection has exactly one, re-armed for whichever
// stage it is in (handshake, connect, idle, FIN). Idle timers are lazy: the
// owner only records its last activity on the byte path, and when the timer
// fires it re-arms itself if activity happened since.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferry::net {

class TimerHandler {
 public:
  virtual void on_timer() = 0;

 protected:
  ~TimerHandler() = default;
};

class TimerWheel;

class Timer {
 public:
  Timer() = default;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { cancel(); }

  bool armed() const { return wheel_ != nullptr; }
  uint64_t due_ms() const { return due_; }
  void cancel();

 private:
  friend class TimerWheel;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  TimerWheel* wheel_ = nullptr;
  TimerHandler* handler_ = nullptr;
  uint64_t due_ = 0;
  uint32_t slot_ = 0;  // index into TimerWheel::heads_
};

class TimerWheel {
 public:
  static constexpr uint64_t kTickMs = 10;
  static constexpr size_t kSlots = 1024;
  static constexpr uint64_t kLookahead = 64;  // slots next_timeout_ms() scans

  explicit TimerWheel(uint64_t now_ms);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();

  // (Re)arms `t` to call `h->on_timer()` at or after `due_ms`.
  void schedule(Timer& t, uint64_t due_ms, TimerHandler* h);

  // Fires every timer due at `now_ms`. Handlers may arm or cancel any timer.
  void advance(uint64_t now_ms);

  // Milliseconds until the next tick that holds a timer (or until the end
  // of the lookahead, whichever is first), or -1 if there is no timer.
  int next_timeout_ms(uint64_t now_ms) const;

  size_t size() const { return count_; }

 private:
  friend class Timer;
  void link(Timer& t, uint32_t slot);
  void unlink(Timer& t);

  // kSlots wheel slots, then one list for the slot being processed, so that
  // handlers may cancel any timer, including ones not yet visited.
  static constexpr uint32_t kProcessing = kSlots;
  std::array<Timer*, kSlots + 1> heads_{};
  uint64_t current_tick_;  // every tick < current_tick_ has been processed
  size_t count_ = 0;
};

}  // namespace ferry::net
