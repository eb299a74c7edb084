#include "net/timer_wheel.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace ferry::net {
namespace {

struct Probe final : TimerHandler {
  virtual ~Probe() = default;
  std::function<void()> fn;
  int fired = 0;
  void on_timer() override {
    ++fired;
    if (fn) fn();
  }
};

// Resolution is one tick: a timer fires at its due time or up to a tick later.
TEST(TimerWheel, FiresWithinOneTickAfterTheDueTimeAndNeverBefore) {
  TimerWheel w(1000);
  Timer t;
  Probe p;
  w.schedule(t, 1055, &p);
  w.advance(1054);
  EXPECT_EQ(p.fired, 0);
  w.advance(1055 + TimerWheel::kTickMs);
  EXPECT_EQ(p.fired, 1);
  EXPECT_FALSE(t.armed());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, HandlesTimersLongerThanOneRevolution) {
  TimerWheel w(0);
  Timer t;
  Probe p;
  uint64_t due = TimerWheel::kTickMs * TimerWheel::kSlots * 3 + 5;
  w.schedule(t, due, &p);
  for (uint64_t now = 0; now < due; now += 7)  // bounded: ~4400 steps
    w.advance(now);
  EXPECT_EQ(p.fired, 0);
  w.advance(due + TimerWheel::kTickMs);
  EXPECT_EQ(p.fired, 1);
}

TEST(TimerWheel, CancelledTimersNeverFire) {
  TimerWheel w(0);
  Timer t;
  Probe p;
  w.schedule(t, 100, &p);
  t.cancel();
  w.advance(1000);
  EXPECT_EQ(p.fired, 0);
}

TEST(TimerWheel, AHandlerMayCancelATimerQueuedBehindIt) {
  TimerWheel w(0);
  Timer a, b;
  Probe pa, pb;
  pa.fn = [&] { b.cancel(); };
  pb.fn = [&] { a.cancel(); };
  w.schedule(a, 50, &pa);
  w.schedule(b, 50, &pb);
  w.advance(60);
  EXPECT_EQ(pa.fired + pb.fired, 1);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, AHandlerReArmingForNowFiresOnTheNextAdvanceNotLater) {
  TimerWheel w(0);
  Timer t;
  Probe p;
  p.fn = [&] {
    if (p.fired == 1) w.schedule(t, 0, &p);
  };
  w.schedule(t, 30, &p);
  w.advance(30);
  EXPECT_EQ(p.fired, 1);
  w.advance(40);
  EXPECT_EQ(p.fired, 2);
}

TEST(TimerWheel, AStallLongerThanARevolutionFiresEverythingDue) {
  TimerWheel w(0);
  std::vector<Timer> timers(100);
  Probe p;
  for (size_t i = 0; i < timers.size(); ++i) w.schedule(timers[i], i * 137, &p);
  w.advance(1'000'000);
  EXPECT_EQ(p.fired, 100);
}

TEST(TimerWheel, NextTimeoutPointsAtTheNextBusyTick) {
  TimerWheel w(0);
  EXPECT_EQ(w.next_timeout_ms(0), -1);
  Timer t;
  Probe p;
  w.schedule(t, 95, &p);
  int ms = w.next_timeout_ms(0);
  EXPECT_GE(ms, 95);
  EXPECT_LE(ms, 95 + static_cast<int>(TimerWheel::kTickMs));
}

}  // namespace
}  // namespace ferry::net
