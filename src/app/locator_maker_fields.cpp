// See locator_maker_fields.hpp.
#include "app/locator_maker_fields.hpp"

namespace cppbx::app {

LocatorMakerFields::LocatorMakerFields(const config::LocatorConfig& config, config::Diagnostics& diagnostics)
    : config_(config), fields_(config.table, config.key_path, config.where, diagnostics) {
  // Read by the configuration loader for every locator type: known here.
  for (const char* shared : {"max_bindings_per_aor", "max_bindings_total", "sweep_interval_seconds"}) {
    fields_.node(shared);
  }
}

std::optional<int64_t> LocatorMakerFields::integer_in(std::string_view key, int64_t min, int64_t max) {
  return fields_.integer(key, min, max, ok_);
}

void LocatorMakerFields::read_limits(std::chrono::milliseconds& timeout, size_t& max_in_flight) {
  if (auto ms = integer_in("timeout_ms", 1, 600000)) timeout = std::chrono::milliseconds(*ms);
  if (auto n = integer_in("max_in_flight", 1, 100000)) max_in_flight = static_cast<size_t>(*n);
}

void LocatorMakerFields::read_pool_size(size_t& pool_size) {
  if (auto n = integer_in("pool_size", 1, 64)) pool_size = static_cast<size_t>(*n);
}

std::chrono::seconds LocatorMakerFields::sweep_interval() const {
  return std::chrono::seconds(config_.sweep_interval_seconds > 0 ? config_.sweep_interval_seconds : 1);
}

}  // namespace cppbx::app
