// See database_locator_maker.hpp. The url is checked for its dialect without
// connecting; diagnostics never repeat it, since it may hold a password.
#include "app/database_locator_maker.hpp"

#include <fmt/format.h>

#include "location/database_locator.hpp"
#include "storage/database.hpp"
#include "users/config_fields.hpp"

namespace cppbx::app {
namespace {

std::optional<int64_t> integer_in(users::ConfigFields& fields, std::string_view key, int64_t min, int64_t max,
                                  bool& ok) {
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

// The locator's own url, else the top-level database_url; false (reported)
// when neither is usable.
bool read_url(users::ConfigFields& fields, const std::string& database_url, std::string& url) {
  if (auto own = fields.string("url", false)) {
    url = *own;
  } else if (fields.node("url") != nullptr) {
    return false;  // wrong type, reported
  } else {
    url = database_url;
  }
  if (url.empty()) {
    fields.error(nullptr, "url", "is required when database_url is not set");
    return false;
  }
  std::string why;
  if (!storage::dialect_of_url(url, why)) {
    fields.error(fields.node("url"), "url", "not a usable database URL: " + why);
    return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<location::Locator> make_database_locator(const config::LocatorConfig& config,
                                                         const LocatorEnvironment& environment,
                                                         config::Diagnostics& diagnostics) {
  users::ConfigFields fields(config.table, config.key_path, config.where, diagnostics);
  // Read by the configuration loader for every locator type.
  for (const char* shared : {"max_bindings_per_aor", "max_bindings_total", "sweep_interval_seconds"}) {
    fields.node(shared);
  }
  location::DatabaseLocatorOptions options;
  bool ok = read_url(fields, environment.database_url, options.url);
  if (auto ms = integer_in(fields, "timeout_ms", 1, 600000, ok)) options.timeout = std::chrono::milliseconds(*ms);
  if (auto n = integer_in(fields, "max_in_flight", 1, 100000, ok)) options.max_in_flight = static_cast<size_t>(*n);
  if (auto n = integer_in(fields, "pool_size", 1, 64, ok)) options.pool_size = static_cast<size_t>(*n);
  fields.warn_unknown_keys();
  if (!ok) return nullptr;
  options.home_proxy = environment.home_proxy;
  options.max_bindings_per_aor = config.max_bindings_per_aor;
  options.sweep_interval = std::chrono::seconds(config.sweep_interval_seconds > 0 ? config.sweep_interval_seconds : 1);
  return std::make_shared<location::DatabaseLocator>(environment.io, std::move(options));
}

}  // namespace cppbx::app
