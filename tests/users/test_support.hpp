// Helpers shared by the users tests: synchronous lookups and backend
// configuration entries built from TOML text.
#pragma once

#include <optional>
#include <string>

#include <toml++/toml.h>

#include "config/config.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users::testing {

// Runs a lookup on a backend that answers inline; nullopt if it did not.
inline std::optional<LookupResult> lookup_now(UserBackend& backend, std::string username,
                                              std::string realm = "example.com") {
  std::optional<LookupResult> answer;
  backend.lookup({std::move(username), std::move(realm)},
                 [&answer](LookupResult result) { answer = std::move(result); });
  return answer;
}

// `toml_entry` is the body of one [[proxy.user_backends]] table.
inline config::UserBackendConfig backend_config(const std::string& toml_entry,
                                                std::string config_dir = {}) {
  config::UserBackendConfig cfg;
  cfg.table = toml::parse(toml_entry, std::string_view("users.toml"));
  cfg.type = cfg.table["type"].value_or(std::string());
  cfg.key_path = "proxy.user_backends[0]";
  cfg.where = {"users.toml", 1, 1};
  cfg.config_dir = std::move(config_dir);
  return cfg;
}

inline bool has_diagnostic(const config::Diagnostics& diagnostics,
                           config::Diagnostic::Severity severity, const std::string& key,
                           const std::string& fragment) {
  for (const auto& item : diagnostics.all()) {
    if (item.severity == severity && item.key == key &&
        item.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace cppbx::users::testing
