// The configured backends asked in order. The first that finds (or denies)
// the user answers; NotFound moves on; Error moves on but is remembered, and
// when no later backend finds the user the chain answers Error (503), so an
// outage is never mistaken for "no such user". Denied answers at once, like
// Found: a backend that refuses a user is not overruled by a later one.
#pragma once

#include <memory>
#include <vector>

#include "users/user_backend.hpp"

namespace cppbx::users {

class BackendChain final : public UserBackend {
 public:
  explicit BackendChain(std::vector<std::shared_ptr<UserBackend>> backends);
  std::string_view type() const override { return "chain"; }
  void lookup(const LookupRequest& request, LookupCallback done) override;
  void reload() override;
  size_t size() const { return backends_->size(); }

 private:
  // Shared with lookups in flight, so the chain may go away before they end.
  std::shared_ptr<const std::vector<std::shared_ptr<UserBackend>>> backends_;
};

}  // namespace cppbx::users
