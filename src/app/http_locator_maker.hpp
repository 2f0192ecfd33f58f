// Builds the "http" locator from [proxy.locator]: url (http:// or https://),
// headers (a table of strings, values never echoed: they hold API keys),
// timeout_ms and max_in_flight, with positioned diagnostics. It never
// connects (cppbx --check-config builds locators too): the locator starts its
// HTTP client in start().
#pragma once

#include <memory>

#include "app/locator_factory.hpp"

namespace cppbx::app {

// nullptr (with errors in `diagnostics`) when a key is invalid.
std::shared_ptr<location::Locator> make_http_locator(const config::LocatorConfig& config,
                                                     const LocatorEnvironment& environment,
                                                     config::Diagnostics& diagnostics);

}  // namespace cppbx::app
