// Builds user backends by type name from their configuration table. Adding a
// backend type means one new source file that registers itself here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

using BackendMaker = std::function<std::shared_ptr<UserBackend>(
    const config::UserBackendConfig& cfg, config::Diagnostics& diagnostics)>;

// Registers a maker; returns true so it can initialise a static.
bool register_backend_type(std::string type, BackendMaker maker);

// nullptr (with an error in `diagnostics`) when the type is unknown or the
// configuration is invalid.
std::shared_ptr<UserBackend> make_backend(const config::UserBackendConfig& cfg,
                                          config::Diagnostics& diagnostics);

std::vector<std::string> registered_backend_types();

}  // namespace cppbx::users
