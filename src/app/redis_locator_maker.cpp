// See redis_locator_maker.hpp. Diagnostics about the url never repeat it:
// it may hold a password.
#include "app/redis_locator_maker.hpp"

#include "app/locator_maker_fields.hpp"
#include "location/redis_locator.hpp"

namespace cppbx::app {

std::shared_ptr<location::Locator> make_redis_locator(const config::LocatorConfig& config,
                                                      const LocatorEnvironment& environment,
                                                      config::Diagnostics& diagnostics) {
  LocatorMakerFields common(config, diagnostics);
  users::ConfigFields& fields = common.fields();
  location::RedisLocatorOptions options;
  if (auto url = fields.string("url", true)) {
    std::string why;
    if (auto endpoint = location::parse_redis_url(*url, why)) {
      options.endpoint = std::move(*endpoint);
    } else {
      fields.error(fields.node("url"), "url",
                   "not a Redis URL (redis://[[user]:password@]host[:port][/db]): " + why);
      common.fail();
    }
  } else {
    common.fail();
  }
  common.read_limits(options.timeout, options.max_in_flight);
  common.read_pool_size(options.pool_size);
  if (auto prefix = fields.string("key_prefix", false)) {
    options.key_prefix = *prefix;
  } else if (fields.node("key_prefix") != nullptr) {
    common.fail();  // wrong type, reported
  }
  if (!common.finish(options, environment)) return nullptr;
  return std::make_shared<location::RedisLocator>(environment.io, std::move(options));
}

}  // namespace cppbx::app
