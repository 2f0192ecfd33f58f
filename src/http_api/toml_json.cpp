// See toml_json.hpp.
#include "http_api/toml_json.hpp"

#include <sstream>

namespace cppbx::http_api {
namespace {

using nlohmann::json;

json node_to_json(const toml::node& node) {
  if (auto* table = node.as_table()) return toml_to_json(*table);
  if (auto* array = node.as_array()) {
    json out = json::array();
    for (const auto& item : *array) out.push_back(node_to_json(item));
    return out;
  }
  if (auto value = node.value_exact<std::string>()) return *value;
  if (auto value = node.value_exact<int64_t>()) return *value;
  if (auto value = node.value_exact<double>()) return *value;
  if (auto value = node.value_exact<bool>()) return *value;
  std::ostringstream text;  // dates and times
  node.visit([&](const auto& leaf) { text << leaf; });
  return text.str();
}

bool json_to_node(const json& value, const std::string& key, toml::array* array, toml::table* table,
                  std::string& error);

template <typename Value>
void put(toml::array* array, toml::table* table, const std::string& key, Value&& value) {
  if (array) array->push_back(std::forward<Value>(value));
  else table->insert_or_assign(key, std::forward<Value>(value));
}

bool json_to_node(const json& value, const std::string& key, toml::array* array, toml::table* table,
                  std::string& error) {
  switch (value.type()) {
    case json::value_t::null: return true;
    case json::value_t::string: put(array, table, key, value.get<std::string>()); return true;
    case json::value_t::boolean: put(array, table, key, value.get<bool>()); return true;
    case json::value_t::number_integer: put(array, table, key, value.get<int64_t>()); return true;
    case json::value_t::number_unsigned:
      if (value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        error = "'" + key + "' is too large";
        return false;
      }
      put(array, table, key, static_cast<int64_t>(value.get<uint64_t>()));
      return true;
    case json::value_t::number_float: put(array, table, key, value.get<double>()); return true;
    case json::value_t::object: {
      auto inner = json_to_toml(value, error);
      if (!inner) return false;
      put(array, table, key, std::move(*inner));
      return true;
    }
    case json::value_t::array: {
      toml::array inner;
      for (const auto& item : value) {
        if (!json_to_node(item, key, &inner, nullptr, error)) return false;
      }
      put(array, table, key, std::move(inner));
      return true;
    }
    default:
      error = "'" + key + "' holds a value TOML cannot represent";
      return false;
  }
}

}  // namespace

json toml_to_json(const toml::table& table) {
  json out = json::object();
  for (const auto& [key, node] : table) out[std::string(key.str())] = node_to_json(node);
  return out;
}

std::optional<toml::table> json_to_toml(const json& value, std::string& error) {
  if (!value.is_object()) {
    error = "expected a JSON object";
    return std::nullopt;
  }
  toml::table table;
  for (const auto& [key, member] : value.items()) {
    if (!json_to_node(member, key, nullptr, &table, error)) return std::nullopt;
  }
  return table;
}

}  // namespace cppbx::http_api
