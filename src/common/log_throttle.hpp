// One log line per interval for a problem that recurs with every request
// (a user backend down, a queue full): under load, a line per request would
// bury everything else and cost more than the request. The line that is
// written says how many were held back since the previous one.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <map>
#include <optional>
#include <string>
#include <string_view>

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

// One Throttle per kind of problem (its key, e.g. the error's cause), so a
// new kind of failure is still reported at once while a recurring one is
// held back. The number of kinds kept is bounded: past it they start afresh.
class ThrottleByKey {
 public:
  explicit ThrottleByKey(Throttle::Clock::duration interval = std::chrono::seconds(10),
                         size_t max_keys = 64)
      : interval_(interval), max_keys_(max_keys) {}

  std::optional<uint64_t> admit(std::string_view key, Throttle::Clock::time_point now = Throttle::Clock::now()) {
    std::lock_guard lock(mutex_);
    auto found = throttles_.find(key);
    if (found == throttles_.end()) {
      if (throttles_.size() >= max_keys_) throttles_.clear();
      found = throttles_.try_emplace(std::string(key), interval_).first;
    }
    return found->second.admit(now);
  }

 private:
  const Throttle::Clock::duration interval_;
  const size_t max_keys_;
  std::mutex mutex_;
  std::map<std::string, Throttle, std::less<>> throttles_;
};

}  // namespace cppbx::log
