// Users listed in the configuration (`type = "memory"`, a `users` array of
// tables). Read once at start-up; reload() keeps them (the configuration is
// what changes, and that rebuilds the backend). Lookups answer inline.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

class MemoryBackend final : public UserBackend {
 public:
  explicit MemoryBackend(std::vector<SipUser> users);
  std::string_view type() const override { return "memory"; }
  // The first user with this name whose realm matches (users without a realm
  // match every realm).
  void lookup(const LookupRequest& request, LookupCallback done) override;
  size_t user_count() const { return count_; }

 private:
  std::unordered_map<std::string, std::vector<SipUser>> by_name_;
  size_t count_ = 0;
};

// Reads fields username, password (required), realm, display_name, enabled
// (default true), allow_guest_calls (default false) of each `users` entry.
std::shared_ptr<UserBackend> make_memory_backend(const config::UserBackendConfig& cfg,
                                                 config::Diagnostics& diagnostics);

}  // namespace cppbx::users
