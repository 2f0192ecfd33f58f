// Messages name what was expected and what was found ("expected an integer,
// got string"), which is what a user fixing a file needs first.
#include "config/value_reader.hpp"

#include <fmt/format.h>

namespace cppbx::config {

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

SourceLocation ValueReader::where(const toml::source_region& region) const {
  return {file_, region.begin.line, region.begin.column};
}

void ValueReader::error(const toml::node& node, const std::string& key, std::string message) {
  diagnostics_.error(where(node), key, std::move(message));
}

void ValueReader::warning(const toml::node& node, const std::string& key, std::string message) {
  diagnostics_.warning(where(node), key, std::move(message));
}

void ValueReader::warning(const toml::key& key, const std::string& path, std::string message) {
  diagnostics_.warning(where(key.source()), path, std::move(message));
}

bool ValueReader::expect_type(const toml::node& node, const std::string& key,
                              toml::node_type type) {
  if (node.type() == type) return true;
  error(node, key, fmt::format("expected {}, got {}", type_name(type), type_name(node.type())));
  return false;
}

std::optional<std::string> ValueReader::string(const toml::node& node, const std::string& key) {
  if (!expect_type(node, key, toml::node_type::string)) return std::nullopt;
  return node.as_string()->get();
}

std::optional<bool> ValueReader::boolean(const toml::node& node, const std::string& key) {
  if (!expect_type(node, key, toml::node_type::boolean)) return std::nullopt;
  return node.as_boolean()->get();
}

std::optional<int64_t> ValueReader::integer(const toml::node& node, const std::string& key,
                                            int64_t min, int64_t max) {
  if (!expect_type(node, key, toml::node_type::integer)) return std::nullopt;
  int64_t value = node.as_integer()->get();
  if (value < min || value > max) {
    error(node, key, fmt::format("{} is out of range (expected {} to {})", value, min, max));
    return std::nullopt;
  }
  return value;
}

std::optional<uint16_t> ValueReader::port(const toml::node& node, const std::string& key) {
  auto value = integer(node, key, 1, 65535);
  if (!value) return std::nullopt;
  return static_cast<uint16_t>(*value);
}

std::optional<std::vector<std::string>> ValueReader::string_array(const toml::node& node,
                                                                  const std::string& key) {
  if (!expect_type(node, key, toml::node_type::array)) return std::nullopt;
  std::vector<std::string> result;
  bool all_valid = true;
  const toml::array& items = *node.as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    auto item = string(items[i], fmt::format("{}[{}]", key, i));
    if (item) result.push_back(std::move(*item));
    else all_valid = false;
  }
  if (!all_valid) return std::nullopt;
  return result;
}

}  // namespace cppbx::config
