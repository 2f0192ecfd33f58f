// Builds user backends by type name from their configuration table.
//
// The built-in types are registered explicitly inside backend_factory.cpp:
// self-registering statics in other source files would be dropped by the
// linker when nothing else references their object file in the static
// library. Adding a built-in type means one new source file plus one line in
// that list; register_backend_type() stays for types added at run time
// (tests, plugins).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "users/backend_chain.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

using BackendMaker = std::function<std::shared_ptr<UserBackend>(
    const config::UserBackendConfig& cfg, config::Diagnostics& diagnostics)>;

// Registers (or replaces) a maker. Returns true.
bool register_backend_type(std::string type, BackendMaker maker);

// nullptr (with an error in `diagnostics`) when the type is unknown or the
// configuration is invalid. Unknown keys in the entry are warnings.
std::shared_ptr<UserBackend> make_backend(const config::UserBackendConfig& cfg,
                                          config::Diagnostics& diagnostics);

// Every configured backend, in order, behind one BackendChain. nullptr when
// any entry failed (all problems are reported, not only the first).
std::shared_ptr<BackendChain> make_backend_chain(
    const std::vector<config::UserBackendConfig>& configs, config::Diagnostics& diagnostics);

std::vector<std::string> registered_backend_types();

}  // namespace cppbx::users
