// Bridges the [proxy.locator] configuration to MemoryLocatorOptions. Kept out
// of memory_locator.hpp so the location library does not depend on the config
// library (and its TOML build flags); include it where both are linked.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "location/memory_locator.hpp"

namespace cppbx::location {

inline MemoryLocatorOptions memory_locator_options(const config::LocatorConfig& config) {
  MemoryLocatorOptions options;
  options.max_bindings_per_aor = config.max_bindings_per_aor;
  options.max_bindings_total = config.max_bindings_total;
  options.sweep_interval = std::chrono::seconds(config.sweep_interval_seconds > 0 ? config.sweep_interval_seconds : 1);
  return options;
}

inline std::unique_ptr<MemoryLocator> make_memory_locator(boost::asio::io_context& io,
                                                          const config::LocatorConfig& config) {
  return std::make_unique<MemoryLocator>(io, memory_locator_options(config));
}

}  // namespace cppbx::location
