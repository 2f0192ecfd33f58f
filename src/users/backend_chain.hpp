// The configured backends asked in order. The first that finds (or denies)
// the user answers; NotFound moves on; Error moves on but is remembered, and
// when no later backend finds the user the chain answers Error (503), so an
// outage is never mistaken for "no such user". Denied answers at once, like
// Found: a backend that refuses a user is not overruled by a later one.
//
// The chain also counts, per backend, the lookups it asked and the errors it
// got (with the last one's time and detail) for the console's dashboard:
// atomics on the lookup path, a mutex only when an error is recorded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "users/user_backend.hpp"

namespace cppbx::users {

// One backend's counters since the chain was built.
struct BackendHealth {
  std::string type;
  uint64_t lookups = 0;  // times the chain asked it
  uint64_t errors = 0;   // answers with LookupOutcome::Error
  std::optional<std::chrono::system_clock::time_point> last_error_at;
  std::string last_error;  // the backend's detail, cut short (backends keep secrets out of it)
};

class BackendChain final : public UserBackend {
 public:
  explicit BackendChain(std::vector<std::shared_ptr<UserBackend>> backends);
  std::string_view type() const override { return "chain"; }
  void lookup(const LookupRequest& request, LookupCallback done) override;
  void reload() override;
  size_t size() const;
  // In chain order. Thread-safe.
  std::vector<BackendHealth> health() const;

  struct Shared;

 private:
  // Shared with lookups in flight, so the chain may go away before they end.
  std::shared_ptr<Shared> shared_;
};

}  // namespace cppbx::users
