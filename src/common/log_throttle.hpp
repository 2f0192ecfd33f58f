// One log line per interval for a problem that recurs with every request
// (a user backend down, a queue full): under load, a line per request would
// bury everything else and cost more than the request. The line that is
// written says how many were held back since the previous one.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace cppbx::log {

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(Clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  // When a line may be written now: the number of occurrences held back
  // since the last written line. nullopt: hold this one back.
  std::optional<uint64_t> admit(Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    if (written_once_ && now - last_written_ < interval_) {
      ++held_back_;
      return std::nullopt;
    }
    written_once_ = true;
    last_written_ = now;
    uint64_t held = held_back_;
    held_back_ = 0;
    return held;
  }

 private:
  const Clock::duration interval_;
  std::mutex mutex_;
  bool written_once_ = false;
  Clock::time_point last_written_{};
  uint64_t held_back_ = 0;
};

}  // namespace cppbx::log
