// The keys every locator maker reads the same way from [proxy.locator]:
// bounded integers (timeout_ms, max_in_flight, pool_size) and the settings
// the configuration loader already read for every type (max_bindings_per_aor,
// sweep_interval_seconds) copied with this node's home_proxy into the
// locator's options. Each maker keeps only its own keys (url rules, headers,
// key_prefix).
//
// Design: a thin layer over users::ConfigFields, so diagnostics keep its
// file:line:col and dotted key; `ok` gathers every failure so one pass
// reports all bad keys instead of stopping at the first.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "app/locator_factory.hpp"
#include "users/config_fields.hpp"

namespace cppbx::app {

class LocatorMakerFields {
 public:
  LocatorMakerFields(const config::LocatorConfig& config, config::Diagnostics& diagnostics);

  users::ConfigFields& fields() { return fields_; }
  bool ok() const { return ok_; }
  void fail() { ok_ = false; }

  // nullopt when absent, or (reported) not an integer within [min, max].
  std::optional<int64_t> integer_in(std::string_view key, int64_t min, int64_t max);

  // timeout_ms and max_in_flight, left unchanged when absent.
  void read_limits(std::chrono::milliseconds& timeout, size_t& max_in_flight);
  void read_pool_size(size_t& pool_size);

  // Warns about unknown keys; then, when everything was valid, copies the
  // shared settings into `options` and returns true.
  template <typename Options>
  bool finish(Options& options, const LocatorEnvironment& environment) {
    fields_.warn_unknown_keys();
    if (!ok_) return false;
    options.home_proxy = environment.home_proxy;
    options.max_bindings_per_aor = config_.max_bindings_per_aor;
    options.sweep_interval = sweep_interval();
    return true;
  }

 private:
  std::chrono::seconds sweep_interval() const;

  const config::LocatorConfig& config_;
  users::ConfigFields fields_;
  bool ok_ = true;
};

}  // namespace cppbx::app
