#include "net/timer_wheel.h"

namespace ferry::net {

void Timer::cancel() {
  if (wheel_ != nullptr) wheel_->unlink(*this);
}

TimerWheel::TimerWheel(uint64_t now_ms) : current_tick_(now_ms / kTickMs) {}

TimerWheel::~TimerWheel() {
  for (Timer*& head : heads_) {
    while (head != nullptr) unlink(*head);
  }
}

void TimerWheel::link(Timer& t, uint32_t slot) {
  Timer*& head = heads_[slot];
  t.slot_ = slot;
  t.wheel_ = this;
  t.prev_ = nullptr;
  t.next_ = head;
  if (head != nullptr) head->prev_ = &t;
  head = &t;
  ++count_;
}

void TimerWheel::unlink(Timer& t) {
  if (t.prev_ != nullptr) {
    t.prev_->next_ = t.next_;
  } else {
    heads_[t.slot_] = t.next_;
  }
  if (t.next_ != nullptr) t.next_->prev_ = t.prev_;
  t.prev_ = t.next_ = nullptr;
  t.wheel_ = nullptr;
  --count_;
}

void TimerWheel::schedule(Timer& t, uint64_t due_ms, TimerHandler* h) {
  if (t.wheel_ != nullptr) t.wheel_->unlink(t);
  uint64_t tick = (due_ms + kTickMs - 1) / kTickMs;
  if (tick < current_tick_) tick = current_tick_;  // already due: next advance
  t.due_ = due_ms;
  t.handler_ = h;
  link(t, static_cast<uint32_t>(tick % kSlots));
}

void TimerWheel::advance(uint64_t now_ms) {
  uint64_t now_tick = now_ms / kTickMs;
  // After a stall longer than a revolution, one pass over every slot is enough:
  // due times, not slots, decide what fires.
  if (now_tick >= current_tick_ + kSlots) current_tick_ = now_tick - kSlots + 1;
  while (current_tick_ <= now_tick) {
    if (count_ == 0) {
      current_tick_ = now_tick + 1;
      break;
    }
    auto slot = static_cast<uint32_t>(current_tick_ % kSlots);
    ++current_tick_;  // a handler arming a timer due now lands in the next tick
    // Move the slot onto the processing list, then take timers off it one by
    // one: a handler may re-arm or cancel anything, including what is queued.
    while (Timer* t = heads_[slot]) {
      unlink(*t);
      link(*t, kProcessing);
    }
    while (Timer* t = heads_[kProcessing]) {
      unlink(*t);
      if (t->due_ <= now_ms) {
        t->handler_->on_timer();
      } else {
        link(*t, slot);  // due in a later revolution
      }
    }
  }
}

int TimerWheel::next_timeout_ms(uint64_t now_ms) const {
  if (count_ == 0) return -1;
  // Look a bounded way ahead: a sparse wheel would otherwise cost a scan of
  // every slot on every loop iteration. Waking up early is harmless.
  for (uint64_t i = 0; i < kLookahead; ++i) {
    uint64_t tick = current_tick_ + i;
    if (heads_[tick % kSlots] != nullptr) {
      uint64_t at = tick * kTickMs;
      return at <= now_ms ? 0 : static_cast<int>(at - now_ms);
    }
  }
  uint64_t at = (current_tick_ + kLookahead) * kTickMs;
  return at <= now_ms ? 0 : static_cast<int>(at - now_ms);
}

}  // namespace ferry::net
