// See masking.hpp. Paths are JSON pointers, so restoring walks the submitted
// document once and looks each masked leaf up in the configured ones.
#include "http_api/masking.hpp"

#include <array>

#include "common/strings.hpp"

namespace cppbx::http_api {
namespace {

using nlohmann::json;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_url_field(std::string_view name) { return ends_with(to_lower(name), "url"); }

std::string mask_text(std::string_view key, const std::string& value, bool in_headers) {
  if (value.empty()) return value;
  if (in_headers) return is_secret_header(key) ? std::string(kMask) : value;
  if (is_url_field(key)) return mask_url(value);
  if (is_secret_field(key)) return std::string(kMask);
  return value;
}

void mask_node(json& node, std::string_view key, bool in_headers) {
  if (node.is_string()) {
    node = mask_text(key, node.get<std::string>(), in_headers);
  } else if (node.is_object()) {
    const bool headers = to_lower(key) == "headers";
    for (auto& [name, child] : node.items()) mask_node(child, name, headers);
  } else if (node.is_array()) {
    for (auto& child : node) mask_node(child, key, false);
  }
}

void masked_pointers(const json& node, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  if (node.is_string()) {
    if (node.get<std::string>().find(kMask) != std::string::npos) out.push_back(at);
  } else if (node.is_object()) {
    for (auto& [name, child] : node.items()) masked_pointers(child, at / name, out);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) masked_pointers(node[i], at / i, out);
  }
}

// A configured entry may lend its secrets only for the same destination.
bool same_anchors(const json& submitted, const json& configured_masked) {
  for (const char* anchor : {"url", "database_url"}) {
    const bool in_submitted = submitted.is_object() && submitted.contains(anchor);
    const bool in_configured = configured_masked.is_object() && configured_masked.contains(anchor);
    if (in_submitted != in_configured) return false;
    if (in_submitted && submitted[anchor] != configured_masked[anchor]) return false;
  }
  return true;
}

}  // namespace

bool is_secret_header(std::string_view name) {
  const std::string lower = to_lower(name);
  for (std::string_view exact : {"authorization", "proxy-authorization", "cookie", "x-api-key"}) {
    if (lower == exact) return true;
  }
  for (std::string_view part : {"token", "secret", "key", "password", "auth"}) {
    if (lower.find(part) != std::string::npos) return true;
  }
  return false;
}

bool is_secret_field(std::string_view name) {
  const std::string lower = to_lower(name);
  for (std::string_view exact : {"password", "secret", "token", "api_key", "apikey"}) {
    if (lower == exact) return true;
  }
  for (std::string_view suffix : {"_password", "_secret", "_token", "_api_key"}) {
    if (ends_with(lower, suffix)) return true;
  }
  return false;
}

std::string mask_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const size_t authority_start = scheme_end + 3;
  const size_t authority_end = url.find_first_of("/?#", authority_start);
  std::string_view authority = url.substr(authority_start, authority_end == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : authority_end - authority_start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);  // user without password
  std::string result(url.substr(0, authority_start + colon + 1));
  result += kMask;
  result += url.substr(authority_start + at);
  return result;
}

json masked(const json& value) {
  json copy = value;
  mask_node(copy, "", false);
  return copy;
}

bool contains_mask(const json& value) {
  std::vector<json::json_pointer> pointers;
  masked_pointers(value, json::json_pointer(), pointers);
  return !pointers.empty();
}

bool restore_masked(json& submitted, const std::vector<json>& configured) {
  std::vector<json::json_pointer> pointers;
  masked_pointers(submitted, json::json_pointer(), pointers);
  if (pointers.empty()) return true;
  bool all_restored = true;
  for (const auto& pointer : pointers) {
    bool restored = false;
    for (const json& original : configured) {
      const json original_masked = masked(original);
      if (!same_anchors(submitted, original_masked)) continue;
      if (!original.contains(pointer) || !original.at(pointer).is_string()) continue;
      if (original_masked.at(pointer) != submitted.at(pointer)) continue;
      submitted.at(pointer) = original.at(pointer);
      restored = true;
      break;
    }
    all_restored = all_restored && restored;
  }
  return all_restored;
}

}  // namespace cppbx::http_api
