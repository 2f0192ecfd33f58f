// See config_fields.hpp.
#include "users/config_fields.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "http_client/http_client.hpp"

namespace cppbx::users {
namespace {

// RFC 9110 token characters.
bool valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool valid_header_value(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

}  // namespace

ConfigFields::ConfigFields(const toml::table& table, std::string key_path,
                           config::SourceLocation where, config::Diagnostics& diagnostics)
    : table_(table), key_path_(std::move(key_path)), where_(std::move(where)),
      diagnostics_(diagnostics) {
  known_.insert("type");
}

config::SourceLocation ConfigFields::where(const toml::node* node) const {
  if (node == nullptr || node->source().begin.line == 0) return where_;
  config::SourceLocation location = where_;
  location.line = node->source().begin.line;
  location.column = node->source().begin.column;
  return location;
}

void ConfigFields::error(const toml::node* at, std::string_view field, std::string message) {
  diagnostics_.error(where(at), key(field), std::move(message));
}

const toml::node* ConfigFields::node(std::string_view field) {
  known_.insert(std::string(field));
  return table_.get(field);
}

std::optional<std::string> ConfigFields::string(std::string_view field, bool required) {
  const toml::node* value = node(field);
  if (value == nullptr) {
    if (required) diagnostics_.error(where_, key(field), "is required (a string)");
    return std::nullopt;
  }
  if (const auto* text = value->as_string()) return text->get();
  error(value, field, "must be a string");
  return std::nullopt;
}

std::optional<bool> ConfigFields::boolean(std::string_view field) {
  const toml::node* value = node(field);
  if (value == nullptr) return std::nullopt;
  if (const auto* flag = value->as_boolean()) return flag->get();
  error(value, field, "must be true or false");
  return std::nullopt;
}

std::optional<int64_t> ConfigFields::integer(std::string_view field, int64_t min, int64_t max, bool& ok) {
  const toml::node* value = node(field);
  if (value == nullptr) return std::nullopt;
  const auto* number = value->as_integer();
  if (number == nullptr || number->get() < min || number->get() > max) {
    error(value, field, fmt::format("must be an integer from {} to {}", min, max));
    ok = false;
    return std::nullopt;
  }
  return number->get();
}

bool ConfigFields::header_table(std::string_view field,
                                std::vector<std::pair<std::string, std::string>>& headers) {
  const toml::node* value = node(field);
  if (value == nullptr) return true;
  const toml::table* table = value->as_table();
  if (table == nullptr) {
    error(value, field, "must be a table of header names and string values");
    return false;
  }
  bool ok = true;
  for (const auto& [name, entry] : *table) {
    const auto* text = entry.as_string();
    if (!valid_header_name(name.str())) {
      error(&entry, field, fmt::format("'{}' is not a valid header name", http::printable(name.str())));
      ok = false;
    } else if (text == nullptr || !valid_header_value(text->get())) {
      error(&entry, field, fmt::format("value of '{}' must be a string without line breaks", name.str()));
      ok = false;
    } else {
      headers.emplace_back(std::string(name.str()), text->get());
    }
  }
  return ok;
}

void ConfigFields::warn_unknown_keys() {
  for (const auto& [name, value] : table_) {
    if (known_.find(name.str()) != known_.end()) continue;
    diagnostics_.warning(where(&value), key(name.str()), "unknown key, ignored");
  }
}

}  // namespace cppbx::users
