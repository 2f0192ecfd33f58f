// Typed reads of TOML values that report problems instead of throwing.
//
// Every read takes the node and its dotted key, so each diagnostic carries
// file, line, column and key without the callers repeating that plumbing.
// A failed read returns nullopt and leaves the target untouched, which keeps
// the default and lets loading continue to find further errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace cppbx::config {

std::string_view type_name(toml::node_type type);

class ValueReader {
 public:
  ValueReader(Diagnostics& diagnostics, std::string file)
      : diagnostics_(diagnostics), file_(std::move(file)) {}

  SourceLocation where(const toml::source_region& region) const;
  SourceLocation where(const toml::node& node) const { return where(node.source()); }
  const std::string& file() const { return file_; }

  void error(const toml::node& node, const std::string& key, std::string message);
  void warning(const toml::node& node, const std::string& key, std::string message);
  void warning(const toml::key& key, const std::string& path, std::string message);

  std::optional<std::string> string(const toml::node& node, const std::string& key);
  std::optional<bool> boolean(const toml::node& node, const std::string& key);
  std::optional<int64_t> integer(const toml::node& node, const std::string& key,
                                 int64_t min, int64_t max);
  std::optional<std::vector<std::string>> string_array(const toml::node& node,
                                                       const std::string& key);
  std::optional<uint16_t> port(const toml::node& node, const std::string& key);

  // Reads into `target` only when the value is valid.
  template <typename Integer>
  void assign(Integer& target, const toml::node& node, const std::string& key, int64_t min,
              int64_t max) {
    if (auto value = integer(node, key, min, max)) target = static_cast<Integer>(*value);
  }
  void assign(std::string& target, const toml::node& node, const std::string& key) {
    if (auto value = string(node, key)) target = std::move(*value);
  }
  void assign(bool& target, const toml::node& node, const std::string& key) {
    if (auto value = boolean(node, key)) target = *value;
  }
  void assign(std::vector<std::string>& target, const toml::node& node, const std::string& key) {
    if (auto value = string_array(node, key)) target = std::move(*value);
  }

 private:
  bool expect_type(const toml::node& node, const std::string& key, toml::node_type type);

  Diagnostics& diagnostics_;
  std::string file_;
};

}  // namespace cppbx::config
