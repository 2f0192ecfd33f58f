// See http_locator_maker.hpp. Diagnostics name keys and positions, never a
// header value or the URL's user info.
#include "app/http_locator_maker.hpp"

#include "app/locator_maker_fields.hpp"
#include "common/strings.hpp"
#include "location/http_locator.hpp"

namespace cppbx::app {

std::shared_ptr<location::Locator> make_http_locator(const config::LocatorConfig& config,
                                                     const LocatorEnvironment& environment,
                                                     config::Diagnostics& diagnostics) {
  LocatorMakerFields common(config, diagnostics);
  users::ConfigFields& fields = common.fields();
  location::HttpLocatorOptions options;
  if (auto url = fields.string("url", true)) {
    if (!istarts_with(*url, "http://") && !istarts_with(*url, "https://")) {
      fields.error(fields.node("url"), "url", "must start with http:// or https://");
      common.fail();
    }
    options.url = *url;
  } else {
    common.fail();
  }
  if (!fields.header_table("headers", options.headers)) common.fail();
  common.read_limits(options.timeout, options.max_in_flight);
  if (!common.finish(options, environment)) return nullptr;
  return std::make_shared<location::HttpLocator>(environment.io, std::move(options));
}

}  // namespace cppbx::app
