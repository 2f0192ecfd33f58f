// TOML tables (as the configuration holds user backends and locators) to
// JSON for the console, and JSON from the console back to TOML so a backend
// or locator under test is built by the same makers, with the same checks,
// as one read from the configuration file.
//
// Integers stay integers and floats floats; dates and times (no backend uses
// them) become their TOML text. JSON null members are left out; a value with
// no TOML equivalent is reported in `error`.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

namespace cppbx::http_api {

nlohmann::json toml_to_json(const toml::table& table);
// nullopt with `error` when `value` is not an object or holds something
// TOML cannot (nested arrays of mixed kinds are fine in TOML 1.0).
std::optional<toml::table> json_to_toml(const nlohmann::json& value, std::string& error);

}  // namespace cppbx::http_api
