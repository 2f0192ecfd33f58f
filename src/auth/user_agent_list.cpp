// See user_agent_list.hpp. A User-Agent is at most a header line, and the
// list a handful of entries, so a linear case-insensitive search is cheaper
// than anything cleverer.
#include "auth/user_agent_list.hpp"

#include <algorithm>
#include <limits>

#include "common/strings.hpp"

namespace cppbx::auth {
namespace {

// Position of `needle` (lower case) in `haystack`, ignoring ASCII case.
size_t ifind(std::string_view haystack, std::string_view needle) {
  if (needle.empty() || needle.size() > haystack.size()) return std::string_view::npos;
  for (size_t start = 0; start + needle.size() <= haystack.size(); ++start) {
    size_t i = 0;
    while (i < needle.size() && ascii_lower(haystack[start + i]) == needle[i]) ++i;
    if (i == needle.size()) return start;
  }
  return std::string_view::npos;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads digits at `pos`; false on overflow or no digit.
bool read_number(std::string_view text, size_t& pos, unsigned& value) {
  if (pos >= text.size() || !is_digit(text[pos])) return false;
  uint64_t number = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    number = number * 10 + static_cast<uint64_t>(text[pos] - '0');
    if (number > std::numeric_limits<unsigned>::max()) return false;
    ++pos;
  }
  value = static_cast<unsigned>(number);
  return true;
}

}  // namespace

std::vector<unsigned> leading_version(std::string_view text) {
  std::vector<unsigned> parts;
  size_t pos = 0;
  unsigned value = 0;
  while (read_number(text, pos, value)) {
    parts.push_back(value);
    if (pos + 1 >= text.size() || text[pos] != '.' || !is_digit(text[pos + 1])) break;
    ++pos;
  }
  return parts;
}

std::optional<std::vector<unsigned>> parse_version(std::string_view text) {
  std::vector<unsigned> parts;
  size_t pos = 0;
  unsigned value = 0;
  while (true) {
    if (!read_number(text, pos, value)) return std::nullopt;
    parts.push_back(value);
    if (pos == text.size()) return parts;
    if (text[pos] != '.') return std::nullopt;
    ++pos;
  }
}

bool version_less(const std::vector<unsigned>& a, const std::vector<unsigned>& b) {
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned x = i < a.size() ? a[i] : 0;
    unsigned y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y;
  }
  return false;
}

std::optional<UserAgentList::Entry> UserAgentList::parse(std::string_view entry) {
  Entry parsed;
  parsed.text = std::string(entry);
  size_t bound = entry.find('<');
  parsed.name = to_lower(trim(entry.substr(0, bound)));
  if (parsed.name.empty()) return std::nullopt;
  if (bound != std::string_view::npos) {
    auto version = parse_version(trim(entry.substr(bound + 1)));
    if (!version) return std::nullopt;
    parsed.below = std::move(*version);
  }
  return parsed;
}

bool UserAgentList::valid_entry(std::string_view entry) { return parse(entry).has_value(); }

UserAgentList::UserAgentList(const std::vector<std::string>& entries,
                             std::vector<std::string>* rejected) {
  for (const std::string& text : entries) {
    if (auto entry = parse(text)) {
      entries_.push_back(std::move(*entry));
    } else if (rejected != nullptr) {
      rejected->push_back(text);
    }
  }
}

bool UserAgentList::matches(const Entry& entry, std::string_view user_agent) {
  size_t at = ifind(user_agent, entry.name);
  if (at == std::string_view::npos) return false;
  if (entry.below.empty()) return true;
  size_t pos = at + entry.name.size();
  while (pos < user_agent.size() && (user_agent[pos] == ' ' || user_agent[pos] == '/' ||
                                     user_agent[pos] == 'v' || user_agent[pos] == 'V')) {
    ++pos;
  }
  std::vector<unsigned> version = leading_version(user_agent.substr(pos));
  return version.empty() || version_less(version, entry.below);
}

std::optional<std::string_view> UserAgentList::match(std::string_view user_agent) const {
  for (const Entry& entry : entries_) {
    if (matches(entry, user_agent)) return std::string_view(entry.text);
  }
  return std::nullopt;
}

}  // namespace cppbx::auth
