// See locator_factory.hpp. One maker per locator type; adding a type is one
// entry in makers().
#include "app/locator_factory.hpp"

#include <functional>
#include <map>

#include "app/database_locator_maker.hpp"
#include "app/http_locator_maker.hpp"
#include "app/redis_locator_maker.hpp"
#include "location/memory_locator_config.hpp"

namespace cppbx::app {
namespace {

using Maker = std::function<std::shared_ptr<location::Locator>(
    const config::LocatorConfig&, const LocatorEnvironment&, config::Diagnostics&)>;

std::shared_ptr<location::Locator> make_memory(const config::LocatorConfig& config,
                                               const LocatorEnvironment& environment,
                                               config::Diagnostics&) {
  return location::make_memory_locator(environment.io, config);
}

const std::map<std::string, Maker, std::less<>>& makers() {
  static const std::map<std::string, Maker, std::less<>> table = {
      {"database", make_database_locator},
      {"http", make_http_locator},
      {"memory", make_memory},
      {"redis", make_redis_locator},
  };
  return table;
}

}  // namespace

std::shared_ptr<location::Locator> make_locator(const config::LocatorConfig& config,
                                                const LocatorEnvironment& environment,
                                                config::Diagnostics& diagnostics) {
  auto maker = makers().find(config.type);
  if (maker == makers().end()) {
    diagnostics.warning(config.where, config.key_path + ".type",
                        "not yet supported; locator type '" + config.type + "' falls back to memory");
    return make_memory(config, environment, diagnostics);
  }
  return maker->second(config, environment, diagnostics);
}

}  // namespace cppbx::app
