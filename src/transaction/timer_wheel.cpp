// See timer_wheel.hpp for the design.
#include "transaction/timer_wheel.hpp"

#include <algorithm>

namespace cppbx::transaction {

TimerWheel::TimerWheel(Clock::duration tick, Clock::time_point origin)
    : tick_(std::max<Clock::duration>(tick, std::chrono::microseconds(100))), origin_(origin), slots_(kSlots) {}

int64_t TimerWheel::tick_of(Clock::time_point when) const {
  if (when <= origin_) return 0;
  return (when - origin_) / tick_;
}

void TimerWheel::schedule(Clock::time_point when, std::weak_ptr<TimerTarget> target) {
  std::lock_guard lock(mutex_);
  // A deadline in a tick already swept goes into the next one to sweep.
  int64_t tick = std::max(tick_of(when), next_tick_);
  slots_[static_cast<size_t>(tick) % kSlots].push_back({when, std::move(target)});
  ++size_;
}

std::vector<std::shared_ptr<TimerTarget>> TimerWheel::take_due(Clock::time_point now) {
  std::vector<std::shared_ptr<TimerTarget>> due;
  std::lock_guard lock(mutex_);
  const int64_t last = tick_of(now);
  // After a long pause one turn visits every slot (the rest are the same slots).
  const int64_t first = std::max(next_tick_, last - static_cast<int64_t>(kSlots) + 1);
  for (int64_t tick = first; tick <= last; ++tick) {
    auto& slot = slots_[static_cast<size_t>(tick) % kSlots];
    auto later = std::partition(slot.begin(), slot.end(), [now](const Entry& entry) { return entry.when > now; });
    for (auto it = later; it != slot.end(); ++it) {
      if (auto target = it->target.lock()) due.push_back(std::move(target));
    }
    size_ -= static_cast<size_t>(slot.end() - later);
    slot.erase(later, slot.end());
  }
  // The tick `now` falls in may still hold later deadlines: sweep it again.
  next_tick_ = std::max(next_tick_, last);
  return due;
}

size_t TimerWheel::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

}  // namespace cppbx::transaction
