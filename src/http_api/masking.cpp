// See masking.hpp. Paths are JSON pointers, so restoring walks the submitted
// document once and looks each masked leaf up in the configured ones.
#include "http_api/masking.hpp"

#include <algorithm>
#include <array>
#include <optional>

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

bool is_array_index(const std::string& token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The running secret a masked value at `pointer` stands for, if any. A
// secret inside an element of a list (a memory backend's users) belongs to
// the element with the same username and realm, wherever it now sits, and an
// element without a username only to the element at the same position with
// every other field unchanged: deleting or moving a user must never hand its
// password to the user that takes its place.
std::optional<json> original_secret(const json& submitted, const json& original, const json::json_pointer& pointer) {
  const json::json_pointer element_pointer = pointer.parent_pointer();
  if (!element_pointer.empty() && is_array_index(element_pointer.back())) {
    const json::json_pointer list_pointer = element_pointer.parent_pointer();
    const json& element = submitted.at(element_pointer);
    if (!original.contains(list_pointer) || !original.at(list_pointer).is_array() || !element.is_object()) {
      return std::nullopt;
    }
    const std::string& field = pointer.back();
    if (element.contains("username")) {
      for (const json& candidate : original.at(list_pointer)) {
        if (!candidate.is_object() || !candidate.contains(field) || !candidate.at(field).is_string()) continue;
        if (candidate.value("username", json()) != element.at("username")) continue;
        if (candidate.value("realm", json()) != element.value("realm", json())) continue;
        return candidate.at(field);
      }
      return std::nullopt;
    }
    if (!original.contains(element_pointer) || masked(original.at(element_pointer)) != element) return std::nullopt;
  }
  if (!original.contains(pointer) || !original.at(pointer).is_string()) return std::nullopt;
  // A partly masked value (a URL) stands only for the same URL.
  if (masked(original).at(pointer) != submitted.at(pointer)) return std::nullopt;
  return original.at(pointer);
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
  // As the database URL parser reads it: a raw '#' may be part of the
  // password, so only '/' and '?' end the credentials and host.
  const size_t authority_end = url.find_first_of("/?", authority_start);
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
      if (!same_anchors(submitted, masked(original))) continue;
      if (auto secret = original_secret(submitted, original, pointer)) {
        submitted.at(pointer) = std::move(*secret);
        restored = true;
        break;
      }
    }
    all_restored = all_restored && restored;
  }
  return all_restored;
}

}  // namespace cppbx::http_api
