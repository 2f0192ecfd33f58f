// See http_locator_maker.hpp. Diagnostics name keys and positions, never a
// header value or the URL's user info.
#include "app/http_locator_maker.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "location/http_locator.hpp"
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

void read_headers(users::ConfigFields& fields, http::HeaderList& headers, bool& ok) {
  const toml::node* node = fields.node("headers");
  if (node == nullptr) return;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    fields.error(node, "headers", "must be a table of header names and string values");
    ok = false;
    return;
  }
  for (const auto& [name, value] : *table) {
    const auto* text = value.as_string();
    const bool clean = text != nullptr && text->get().find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
    if (!valid_header_name(name.str())) {
      fields.error(&value, "headers", "'" + http::printable(name.str()) + "' is not a valid header name");
      ok = false;
    } else if (!clean) {
      fields.error(&value, "headers", "value of '" + std::string(name.str()) + "' must be a string without line breaks");
      ok = false;
    } else {
      headers.emplace_back(std::string(name.str()), text->get());
    }
  }
}

}  // namespace

std::shared_ptr<location::Locator> make_http_locator(const config::LocatorConfig& config,
                                                     const LocatorEnvironment& environment,
                                                     config::Diagnostics& diagnostics) {
  users::ConfigFields fields(config.table, config.key_path, config.where, diagnostics);
  // Read by the configuration loader for every locator type.
  for (const char* shared : {"max_bindings_per_aor", "max_bindings_total", "sweep_interval_seconds"}) {
    fields.node(shared);
  }
  location::HttpLocatorOptions options;
  bool ok = true;
  if (auto url = fields.string("url", true)) {
    if (!is_http_url(*url)) {
      fields.error(fields.node("url"), "url", "must start with http:// or https://");
      ok = false;
    }
    options.url = *url;
  } else {
    ok = false;
  }
  read_headers(fields, options.headers, ok);
  if (auto ms = integer_in(fields, "timeout_ms", 1, 600000, ok)) options.timeout = std::chrono::milliseconds(*ms);
  if (auto n = integer_in(fields, "max_in_flight", 1, 100000, ok)) options.max_in_flight = static_cast<size_t>(*n);
  fields.warn_unknown_keys();
  if (!ok) return nullptr;
  options.home_proxy = environment.home_proxy;
  options.max_bindings_per_aor = config.max_bindings_per_aor;
  options.sweep_interval = std::chrono::seconds(config.sweep_interval_seconds > 0 ? config.sweep_interval_seconds : 1);
  return std::make_shared<location::HttpLocator>(environment.io, std::move(options));
}

}  // namespace cppbx::app
