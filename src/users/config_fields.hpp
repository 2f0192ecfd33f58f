// Reading one backend entry's TOML table with precise diagnostics: every
// problem names the file, line, column and dotted key of the offending value
// (falling back to the entry's own position when the value has none), and
// every key nobody asked for is reported once as a warning, so typos in a
// backend entry do not pass silently.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config/config.hpp"

namespace cppbx::users {

class ConfigFields {
 public:
  ConfigFields(const toml::table& table, std::string key_path, config::SourceLocation where,
               config::Diagnostics& diagnostics);

  // nullopt when absent (error if required) or of the wrong type (error).
  std::optional<std::string> string(std::string_view key, bool required);
  std::optional<bool> boolean(std::string_view key);
  // nullopt when absent, or not an integer within [min, max] (error, and
  // `ok` cleared so a caller can report every bad key before giving up).
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max, bool& ok);
  // A table of HTTP header names and string values (API keys: a value is
  // never repeated in a diagnostic) appended to `headers`; false (reported)
  // when the key holds anything unusable, true when absent.
  bool header_table(std::string_view key, std::vector<std::pair<std::string, std::string>>& headers);
  // The node when present (type not checked); marks the key as known.
  const toml::node* node(std::string_view key);
  // Warns about every key that none of the calls above asked for.
  void warn_unknown_keys();

  std::string key(std::string_view field) const { return key_path_ + "." + std::string(field); }
  config::SourceLocation where(const toml::node* node) const;
  void error(const toml::node* at, std::string_view field, std::string message);
  const std::string& key_path() const { return key_path_; }

 private:
  const toml::table& table_;
  std::string key_path_;
  config::SourceLocation where_;
  config::Diagnostics& diagnostics_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace cppbx::users
