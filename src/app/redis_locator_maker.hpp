// Builds the "redis" locator from [proxy.locator]: checks url, timeout_ms,
// max_in_flight, pool_size and key_prefix with positioned diagnostics. It
// never connects (cppbx --check-config builds locators too); connections
// open on the locator's workers at the first call.
#pragma once

#include <memory>

#include "app/locator_factory.hpp"

namespace cppbx::app {

// nullptr (with errors in `diagnostics`) when a key is invalid.
std::shared_ptr<location::Locator> make_redis_locator(const config::LocatorConfig& config,
                                                      const LocatorEnvironment& environment,
                                                      config::Diagnostics& diagnostics);

}  // namespace cppbx::app
