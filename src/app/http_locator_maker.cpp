// See http_locator_maker.hpp. Diagnostics name keys and positions, never a
// header value or the URL's user info.
#include "app/http_locator_maker.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "app/locator_maker_fields.hpp"
#include "location/http_locator.hpp"

namespace cppbx::app {
namespace {

bool is_http_url(std::string_view url) {
  auto lower = [](std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
  };
  const std::string head = lower(url.substr(0, 8));
  return head.rfind("http://", 0) == 0 || head.rfind("https://", 0) == 0;
}

bool valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// False (reported) when a header is unusable.
bool read_headers(users::ConfigFields& fields, http::HeaderList& headers) {
  const toml::node* node = fields.node("headers");
  if (node == nullptr) return true;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    fields.error(node, "headers", "must be a table of header names and string values");
    return false;
  }
  bool ok = true;
  for (const auto& [name, value] : *table) {
    const auto* text = value.as_string();
    const bool clean = text != nullptr && text->get().find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
    if (!valid_header_name(name.str())) {
      fields.error(&value, "headers", fmt::format("'{}' is not a valid header name", http::printable(name.str())));
      ok = false;
    } else if (!clean) {
      fields.error(&value, "headers",
                   fmt::format("value of '{}' must be a string without line breaks", name.str()));
      ok = false;
    } else {
      headers.emplace_back(std::string(name.str()), text->get());
    }
  }
  return ok;
}

}  // namespace

std::shared_ptr<location::Locator> make_http_locator(const config::LocatorConfig& config,
                                                     const LocatorEnvironment& environment,
                                                     config::Diagnostics& diagnostics) {
  LocatorMakerFields common(config, diagnostics);
  users::ConfigFields& fields = common.fields();
  location::HttpLocatorOptions options;
  if (auto url = fields.string("url", true)) {
    if (!is_http_url(*url)) {
      fields.error(fields.node("url"), "url", "must start with http:// or https://");
      common.fail();
    }
    options.url = *url;
  } else {
    common.fail();
  }
  if (!read_headers(fields, options.headers)) common.fail();
  common.read_limits(options.timeout, options.max_in_flight);
  if (!common.finish(options, environment)) return nullptr;
  return std::make_shared<location::HttpLocator>(environment.io, std::move(options));
}

}  // namespace cppbx::app
