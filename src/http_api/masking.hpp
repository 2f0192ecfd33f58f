// Secrets in settings shown to the console, and their way back.
//
// Design decisions:
// - One rule set over JSON, whatever the source (a user backend's TOML
//   table, the locator, the webhook), so GET /api/settings/proxy, the Test
//   routes and the later Apply agree on what is secret:
//   * a string under a key ending in "url" (url, database_url) keeps
//     everything but the password of its user info:
//     postgres://u:********@h/db;
//   * values of a "headers" object whose header name looks secret
//     (Authorization, Proxy-Authorization, Cookie, X-Api-Key, anything
//     holding "token", "secret", "key", "password" or "auth");
//   * fields named password, secret, token, api_key, or ending in
//     _password, _secret, _token (password_column is a column name, not a
//     secret, and stays).
//   Empty values stay empty, so the console can tell "not set" from "set".
// - The mask is kMask ("********"). When the client sends a masked value
//   back, restore_masked() puts the configured value in its place, but only
//   from a configured entry whose url (and database_url) masks to the same
//   text as the submitted one: a secret is never sent to a destination other
//   than the one it was configured for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cppbx::http_api {

inline constexpr std::string_view kMask = "********";

bool is_secret_header(std::string_view name);
bool is_secret_field(std::string_view name);
// The URL with the password of its user info replaced by kMask (unchanged
// when it has none).
std::string mask_url(std::string_view url);

// A copy of `value` with every secret masked (rules above).
nlohmann::json masked(const nlohmann::json& value);

// True when some string inside `value` contains kMask.
bool contains_mask(const nlohmann::json& value);

// Replaces each masked string of `submitted` by the configured value at the
// same place in the first of `configured` whose anchors (url, database_url)
// mask to the submitted ones and whose masked value there equals the
// submitted text. Returns false when some masked string found no such
// configured value (it is left masked).
bool restore_masked(nlohmann::json& submitted, const std::vector<nlohmann::json>& configured);

}  // namespace cppbx::http_api
