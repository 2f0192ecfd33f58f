// See redis_locator_maker.hpp. Diagnostics about the url never repeat it:
// it may hold a password.
#include "app/redis_locator_maker.hpp"

#include <fmt/format.h>

#include "location/redis_locator.hpp"
#include "users/config_fields.hpp"

namespace cppbx::app {
namespace {

std::optional<int64_t> bounded_integer(users::ConfigFields& fields, std::string_view key, int64_t min,
                                       int64_t max, bool& ok) {
  const toml::node* value = fields.node(key);
  if (value == nullptr) return std::nullopt;
  const auto* number = value->as_integer();
  if (number == nullptr || number->get() < min || number->get() > max) {
    fields.error(value, key, fmt::format("must be an integer from {} to {}", min, max));
    ok = false;
    return std::nullopt;
  }
  return number->get();
}

}  // namespace

std::shared_ptr<location::Locator> make_redis_locator(const config::LocatorConfig& config,
                                                      const LocatorEnvironment& environment,
                                                      config::Diagnostics& diagnostics) {
  users::ConfigFields fields(config.table, config.key_path, config.where, diagnostics);
  // Read by the configuration loader for every locator type.
  for (const char* shared : {"max_bindings_per_aor", "max_bindings_total", "sweep_interval_seconds"}) {
    fields.node(shared);
  }
  location::RedisLocatorOptions options;
  bool ok = true;
  if (auto url = fields.string("url", true)) {
    std::string why;
    if (auto endpoint = location::parse_redis_url(*url, why)) {
      options.endpoint = std::move(*endpoint);
    } else {
      fields.error(fields.node("url"), "url",
                   "not a Redis URL (redis://[[user]:password@]host[:port][/db]): " + why);
      ok = false;
    }
  } else {
    ok = false;
  }
  if (auto ms = bounded_integer(fields, "timeout_ms", 1, 600000, ok)) options.timeout = std::chrono::milliseconds(*ms);
  if (auto n = bounded_integer(fields, "max_in_flight", 1, 100000, ok)) options.max_in_flight = static_cast<size_t>(*n);
  if (auto n = bounded_integer(fields, "pool_size", 1, 64, ok)) options.pool_size = static_cast<size_t>(*n);
  if (auto prefix = fields.string("key_prefix", false)) {
    options.key_prefix = *prefix;
  } else if (fields.node("key_prefix") != nullptr) {
    ok = false;  // wrong type, reported
  }
  fields.warn_unknown_keys();
  if (!ok) return nullptr;
  options.home_proxy = environment.home_proxy;
  options.max_bindings_per_aor = config.max_bindings_per_aor;
  options.sweep_interval = std::chrono::seconds(config.sweep_interval_seconds > 0 ? config.sweep_interval_seconds : 1);
  return std::make_shared<location::RedisLocator>(environment.io, std::move(options));
}

}  // namespace cppbx::app
