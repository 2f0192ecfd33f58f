// See login_throttle.hpp.
#include "http_api/login_throttle.hpp"

#include <algorithm>

namespace cppbx::http_api {

LoginThrottle::LoginThrottle(LoginThrottleOptions options) : options_(options) {}

std::chrono::seconds LoginThrottle::delay_after(size_t failures) const {
  if (failures < options_.free_failures) return std::chrono::seconds(0);
  size_t doublings = std::min<size_t>(failures - options_.free_failures, 20);
  auto delay = options_.base_delay * (int64_t{1} << doublings);
  return std::min(delay, options_.max_delay);
}

// The window starts when the wait ends, so a long wait never lapses into a
// clean slate.
bool LoginThrottle::forgotten(const Entry& entry, Clock::time_point now) const {
  return now - entry.last_failure >= delay_after(entry.failures) + options_.window;
}

std::chrono::seconds LoginThrottle::admit(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(address);
  if (found == entries_.end()) {
    make_room(now);
    entries_[address].in_flight = 1;
    return std::chrono::seconds(0);
  }
  Entry& entry = found->second;
  if (entry.in_flight == 0 && entry.failures > 0 && forgotten(entry, now)) {
    entry.failures = 0;
  }
  const size_t counted = entry.failures + entry.in_flight;
  if (counted < options_.free_failures) {
    ++entry.in_flight;
    return std::chrono::seconds(0);
  }
  // Beyond the free failures: one attempt at a time, after the delay.
  auto ready_at = entry.last_failure + delay_after(entry.failures);
  if (entry.in_flight == 0 && now >= ready_at) {
    ++entry.in_flight;
    return std::chrono::seconds(0);
  }
  auto wait = std::chrono::ceil<std::chrono::seconds>(ready_at - now);
  return std::max(wait, std::chrono::seconds(1));
}

void LoginThrottle::finish(const std::string& address, Outcome outcome, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(address);
  if (found == entries_.end()) return;
  Entry& entry = found->second;
  if (entry.in_flight > 0) --entry.in_flight;
  if (outcome == Outcome::Succeeded) {
    entry.failures = 0;
  } else if (outcome == Outcome::Failed) {
    ++entry.failures;
    entry.last_failure = now;
  }
  if (entry.failures == 0 && entry.in_flight == 0) entries_.erase(found);
}

size_t LoginThrottle::tracked_addresses() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void LoginThrottle::make_room(Clock::time_point now) {
  if (entries_.size() < options_.max_addresses) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool stale = it->second.in_flight == 0 && forgotten(it->second, now);
    it = stale ? entries_.erase(it) : std::next(it);
  }
  while (entries_.size() >= options_.max_addresses) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return a.second.last_failure < b.second.last_failure;
    });
    entries_.erase(oldest);
  }
}

}  // namespace cppbx::http_api
