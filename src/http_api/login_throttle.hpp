// Slows password guessing per source address.
//
// Rule: an address may fail `free_failures` times (5) freely. After that,
// each further attempt must wait `base_delay` (30 s) after the last failure,
// doubled for every failure beyond the free ones, at most `max_delay`
// (15 min); an attempt during the wait is refused at once (the API answers
// 429 with Retry-After) without checking the password, so guessing costs
// the attacker time and us no argon2 work. Failures are forgotten `window`
// (10 min) after the wait following the last one ended (10 min after the
// last failure while within the free ones), or at once on a successful login.
//
// Attempts still being checked count as failures for admission, so a burst
// of parallel guesses cannot all slip in before the first failure is
// recorded. The table is bounded (max_addresses): stale entries are pruned,
// then the entry idle longest. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cppbx::http_api {

struct LoginThrottleOptions {
  size_t free_failures = 5;
  std::chrono::seconds base_delay{30};
  std::chrono::seconds max_delay{900};
  std::chrono::seconds window{600};
  size_t max_addresses = 10000;
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoginThrottle(LoginThrottleOptions options = {});

  // Zero: the attempt may go ahead (and is counted as in flight until
  // finish()). Otherwise the wait before the next attempt may be made.
  std::chrono::seconds admit(const std::string& address, Clock::time_point now);
  enum class Outcome { Succeeded, Failed, Abandoned };  // Abandoned: not checked (store down)
  // Ends an admitted attempt.
  void finish(const std::string& address, Outcome outcome, Clock::time_point now);
  size_t tracked_addresses() const;

 private:
  struct Entry {
    size_t failures = 0;
    size_t in_flight = 0;
    Clock::time_point last_failure{};
  };
  std::chrono::seconds delay_after(size_t failures) const;
  bool forgotten(const Entry& entry, Clock::time_point now) const;
  void make_room(Clock::time_point now);

  LoginThrottleOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace cppbx::http_api
