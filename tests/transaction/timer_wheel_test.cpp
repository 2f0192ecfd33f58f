#include "transaction/timer_wheel.hpp"

#include <gtest/gtest.h>

namespace cppbx::transaction {
namespace {

using namespace std::chrono_literals;
using Clock = TimerWheel::Clock;

struct CountingTarget : TimerTarget {
  int woken = 0;
  void on_timer_due() override { ++woken; }
};

class TimerWheelTest : public ::testing::Test {
 protected:
  Clock::time_point origin = Clock::now();
  TimerWheel wheel{10ms, origin};

  int wake_all(Clock::time_point now) {
    auto due = wheel.take_due(now);
    for (auto& target : due) target->on_timer_due();
    return static_cast<int>(due.size());
  }
};

TEST_F(TimerWheelTest, WakesATargetOnlyOnceItsDeadlinePassed) {
  auto target = std::make_shared<CountingTarget>();
  wheel.schedule(origin + 95ms, target);
  EXPECT_EQ(wake_all(origin + 50ms), 0);
  EXPECT_EQ(wake_all(origin + 94ms), 0);  // same tick, deadline not reached
  EXPECT_EQ(wake_all(origin + 95ms), 1);
  EXPECT_EQ(wake_all(origin + 200ms), 0);
  EXPECT_EQ(target->woken, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, ADeadlineAlreadyPastIsWokenByTheNextSweep) {
  EXPECT_EQ(wake_all(origin + 500ms), 0);
  auto target = std::make_shared<CountingTarget>();
  wheel.schedule(origin + 100ms, target);
  EXPECT_EQ(wake_all(origin + 501ms), 1);
}

TEST_F(TimerWheelTest, DeadlinesBeyondOneTurnWaitForTheirTurn) {
  // 4096 slots of 10 ms: one turn is 40.96 s.
  auto target = std::make_shared<CountingTarget>();
  wheel.schedule(origin + 180s, target);
  for (auto now = origin + 1s; now < origin + 180s; now += 1s) ASSERT_EQ(wake_all(now), 0);
  EXPECT_EQ(wake_all(origin + 180s + 5ms), 1);
}

TEST_F(TimerWheelTest, AfterALongPauseEveryDueTargetIsWokenOnce) {
  std::vector<std::shared_ptr<CountingTarget>> targets;
  for (int i = 0; i < 100; ++i) {
    targets.push_back(std::make_shared<CountingTarget>());
    wheel.schedule(origin + std::chrono::milliseconds(i * 997), targets.back());
  }
  EXPECT_EQ(wake_all(origin + 10min), 100);
  for (auto& target : targets) EXPECT_EQ(target->woken, 1);
}

TEST_F(TimerWheelTest, TargetsThatAreGoneAreDroppedAndNotWoken) {
  auto kept = std::make_shared<CountingTarget>();
  auto gone = std::make_shared<CountingTarget>();
  wheel.schedule(origin + 20ms, kept);
  wheel.schedule(origin + 20ms, gone);
  gone.reset();
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wake_all(origin + 30ms), 1);
  EXPECT_EQ(kept->woken, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, OrderOfSchedulingDoesNotMatter) {
  auto late = std::make_shared<CountingTarget>();
  auto early = std::make_shared<CountingTarget>();
  wheel.schedule(origin + 300ms, late);
  wheel.schedule(origin + 100ms, early);
  EXPECT_EQ(wake_all(origin + 150ms), 1);
  EXPECT_EQ(early->woken, 1);
  EXPECT_EQ(late->woken, 0);
  EXPECT_EQ(wake_all(origin + 300ms), 1);
  EXPECT_EQ(late->woken, 1);
}

}  // namespace
}  // namespace cppbx::transaction
