// Builds the user backend chain and the module pipeline from configuration.
// Kept apart from the server so that --check-config can run the same
// validation without opening any socket.
#pragma once

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "location/locator.hpp"
#include "proxy/acl_module.hpp"
#include "proxy/module.hpp"
#include "proxy/server_identity.hpp"
#include "users/user_backend.hpp"

namespace cppbx::app {

// The configured backends chained in order. Errors go to `diagnostics`.
std::shared_ptr<users::UserBackend> build_user_backends(const config::Config& config,
                                                        config::Diagnostics& diagnostics);

// One module per entry of proxy.modules, in order. The call module still
// needs CallModule::attach() once the transport and transaction layers exist.
std::vector<std::shared_ptr<proxy::Module>> build_modules(
    const config::Config& config, std::shared_ptr<const proxy::ServerIdentity> identity,
    std::shared_ptr<users::UserBackend> users, std::shared_ptr<location::Locator> locator,
    config::Diagnostics& diagnostics);

// The acl module's rules from proxy.acl_rules, errors to `diagnostics`.
std::vector<proxy::AclRule> build_acl_rules(const config::Config& config,
                                            config::Diagnostics& diagnostics);

}  // namespace cppbx::app
