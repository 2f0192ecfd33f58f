// Builds the "database" locator from [proxy.locator]: url (else the top-level
// database_url), timeout_ms, max_in_flight and pool_size, checked with
// positioned diagnostics. It never connects (cppbx --check-config builds
// locators too): the locator opens its database in start().
#pragma once

#include <memory>

#include "app/locator_factory.hpp"

namespace cppbx::app {

// nullptr (with errors in `diagnostics`) when a key is invalid.
std::shared_ptr<location::Locator> make_database_locator(const config::LocatorConfig& config,
                                                         const LocatorEnvironment& environment,
                                                         config::Diagnostics& diagnostics);

}  // namespace cppbx::app
