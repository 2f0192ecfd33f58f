// Deadlines of every transaction (and of anything else the layer times, such
// as a proxy's Timer C) in one hashed timer wheel, served by the layer's one
// housekeeping timer.
//
// Why: a steady_timer per transaction is armed, re-armed and cancelled from
// the SIP receiver threads, and each of those wakes the thread that runs the
// Asio reactor (an eventfd write, an epoll_ctl, a context switch on both
// sides); that was most of the kernel time of a call. Here scheduling is a
// push into a slot under a short mutex, and nothing is ever cancelled: a
// target woken early or after it ended checks its own deadlines and does
// nothing. Targets are held weakly, so a finished transaction is freed at
// once even though its stale entries wait in the wheel.
//
// Entries further away than one turn of the wheel stay in their slot and are
// passed over until their turn comes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {

class TimerWheel {
 public:
  using Clock = std::chrono::steady_clock;

  // `tick` is the wheel's resolution: a target is woken at most one tick
  // (plus scheduling delay) after its deadline.
  TimerWheel(Clock::duration tick, Clock::time_point origin = Clock::now());

  void schedule(Clock::time_point when, std::weak_ptr<TimerTarget> target);
  // Every target whose deadline is at or before `now` and that still exists.
  std::vector<std::shared_ptr<TimerTarget>> take_due(Clock::time_point now);
  size_t size() const;
  Clock::duration tick() const { return tick_; }

 private:
  struct Entry {
    Clock::time_point when;
    std::weak_ptr<TimerTarget> target;
  };
  static constexpr size_t kSlots = 4096;

  int64_t tick_of(Clock::time_point when) const;

  const Clock::duration tick_;
  const Clock::time_point origin_;
  mutable std::mutex mutex_;
  std::vector<std::vector<Entry>> slots_;
  int64_t next_tick_ = 0;  // the first tick take_due() has not swept completely
  size_t size_ = 0;
};

}  // namespace cppbx::transaction
