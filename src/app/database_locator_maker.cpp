// See database_locator_maker.hpp. The url is checked for its dialect without
// connecting; diagnostics never repeat it, since it may hold a password.
#include "app/database_locator_maker.hpp"

#include "app/locator_maker_fields.hpp"
#include "location/database_locator.hpp"
#include "storage/database.hpp"

namespace cppbx::app {
namespace {

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
  LocatorMakerFields common(config, diagnostics);
  location::DatabaseLocatorOptions options;
  if (!read_url(common.fields(), environment.database_url, options.url)) common.fail();
  common.read_limits(options.timeout, options.max_in_flight);
  common.read_pool_size(options.pool_size);
  if (!common.finish(options, environment)) return nullptr;
  return std::make_shared<location::DatabaseLocator>(environment.io, std::move(options));
}

}  // namespace cppbx::app
