// Builds the configured locator ([proxy.locator] type = memory, database,
// http or redis). It lives in app/ because it needs the configuration, the
// storage and every locator type at once; location/ depends on none of them.
//
// Each type's maker validates its own keys (file:line:col in diagnostics).
// A type that is not built yet falls back to the memory locator with a
// warning, so a RustPBX file still starts.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "location/locator.hpp"

namespace cppbx::app {

struct LocatorEnvironment {
  boost::asio::io_context& io;
  std::string database_url;  // top-level database_url, for a database locator without url
  std::string home_proxy;    // this node's SIP address ("sip:203.0.113.5:5060"), stored with bindings
};

// nullptr (with errors in `diagnostics`) when the configuration is invalid.
std::shared_ptr<location::Locator> make_locator(const config::LocatorConfig& config,
                                                const LocatorEnvironment& environment,
                                                config::Diagnostics& diagnostics);

}  // namespace cppbx::app
