// Which clients get an MD5-only digest offer because of their User-Agent
// (proxy.auth_md5_only_user_agents).
//
// Some widely used softphones abort on a challenge whose algorithm they do not
// know instead of picking the MD5 one next to it (RFC 8760 2.4), so they must
// never see SHA-256. An entry is a case-insensitive substring of the
// User-Agent, optionally with an upper version bound: "baresip<3.11" matches
// "baresip v1.0.0 (x86_64/Linux)" but not "baresip v3.11.0". The version is the
// first number after the name (separators " /vV" skipped); a User-Agent that
// names the product without a readable version matches, because failing to
// register costs more than losing SHA-256 for one client.
//
// Entries are parsed once at start-up; matching allocates nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cppbx::auth {

class UserAgentList {
 public:
  // Malformed entries (empty name, bad version) are skipped and reported in
  // `rejected` (the config layer refuses them before we get here).
  explicit UserAgentList(const std::vector<std::string>& entries,
                         std::vector<std::string>* rejected = nullptr);

  // The entry that matches `user_agent`, as written in the configuration.
  std::optional<std::string_view> match(std::string_view user_agent) const;
  bool empty() const { return entries_.empty(); }

  // True when `entry` is "name" or "name<1.2.3" with a non-empty name.
  static bool valid_entry(std::string_view entry);

 private:
  struct Entry {
    std::string text;             // as configured, for logs
    std::string name;             // lower case
    std::vector<unsigned> below;  // empty: any version
  };
  static std::optional<Entry> parse(std::string_view entry);
  static bool matches(const Entry& entry, std::string_view user_agent);
  std::vector<Entry> entries_;
};

// "3.11.0" -> {3, 11, 0}; nullopt unless digits separated by single dots.
std::optional<std::vector<unsigned>> parse_version(std::string_view text);
// The leading "digits(.digits)*" of `text`; empty when it does not start so.
std::vector<unsigned> leading_version(std::string_view text);
// Numeric comparison, missing components count as 0 ("2.10" == "2.10.0").
bool version_less(const std::vector<unsigned>& a, const std::vector<unsigned>& b);

}  // namespace cppbx::auth
