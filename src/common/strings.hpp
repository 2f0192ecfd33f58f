// Small ASCII string helpers shared by every layer.
//
// SIP and the configuration formats are ASCII-case-insensitive in many places
// (header names, URI schemes, parameter names). These helpers deliberately
// ignore locales: std::tolower depends on the global locale and would make
// comparisons slower and less predictable.
#pragma once

#include <string>
#include <string_view>

namespace cppbx {

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Case-insensitive (ASCII only) equality. Inline with an exact comparison
// first: header and parameter names nearly always arrive in the spelling they
// are compared with, and this runs a few dozen times per request.
bool iequals_folding(std::string_view a, std::string_view b);
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a == b || iequals_folding(a, b));
}
bool istarts_with(std::string_view text, std::string_view prefix);
// Lower-cased copy (ASCII only).
std::string to_lower(std::string_view text);

constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// Strip spaces, tabs, CR and LF. Inline: the parsers call them for every
// list item and parameter.
constexpr std::string_view trim_left(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  return text.substr(i);
}
constexpr std::string_view trim_right(std::string_view text) {
  size_t n = text.size();
  while (n > 0 && is_space(text[n - 1])) --n;
  return text.substr(0, n);
}
constexpr std::string_view trim(std::string_view text) { return trim_right(trim_left(text)); }

}  // namespace cppbx
