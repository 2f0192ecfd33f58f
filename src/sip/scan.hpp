// Private scanning helpers of the SIP layer (not part of the public API).
//
// Character classes come from the RFC 3261 section 25 grammar and live in one
// constexpr table so that every check is a single load. The list and
// parameter walkers never allocate: they hand views to a callback, which lets
// parse_message() validate Via and Contact lists on the hot path without
// building vectors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "common/strings.hpp"

namespace cppbx::sip::detail {

enum CharClass : uint16_t {
  kAlnum = 1 << 0,
  kMark = 1 << 1,            // - _ . ! ~ * ' ( )
  kTokenExtra = 1 << 2,      // - . ! % * _ + ` ' ~  (with alnum: token)
  kUserExtra = 1 << 3,       // & = + $ , ; ? /
  kPasswordExtra = 1 << 4,   // & = + $ ,
  kParamExtra = 1 << 5,      // [ ] / : & + $
  kHeaderExtra = 1 << 6,     // [ ] / ? : + $
  kHex = 1 << 7,
  kHostChar = 1 << 8,        // alnum - . _
};

constexpr std::array<uint16_t, 256> make_char_table() {
  std::array<uint16_t, 256> t{};
  auto add = [&t](std::string_view chars, uint16_t cls) {
    for (char c : chars) t[static_cast<unsigned char>(c)] |= cls;
  };
  for (int c = '0'; c <= '9'; ++c) t[c] |= kAlnum | kHex | kHostChar;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kAlnum | kHostChar;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kAlnum | kHostChar;
  add("abcdefABCDEF", kHex);
  add("-_.!~*'()", kMark);
  add("-.!%*_+`'~", kTokenExtra);
  add("&=+$,;?/", kUserExtra);
  add("&=+$,", kPasswordExtra);
  add("[]/:&+$", kParamExtra);
  add("[]/?:+$", kHeaderExtra);
  add("-._", kHostChar);
  return t;
}
inline constexpr std::array<uint16_t, 256> kCharTable = make_char_table();

constexpr bool has_class(char c, uint16_t mask) {
  return (kCharTable[static_cast<unsigned char>(c)] & mask) != 0;
}
constexpr bool is_token_char(char c) { return has_class(c, kAlnum | kTokenExtra); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_ws(char c) { return c == ' ' || c == '\t'; }

inline size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}

inline size_t skip_token(std::string_view s, size_t i) {
  while (i < s.size() && is_token_char(s[i])) ++i;
  return i;
}

inline bool is_token(std::string_view s) {
  return !s.empty() && skip_token(s, 0) == s.size();
}

// `s[i]` must be '"'. Returns the index just past the closing quote, or npos
// when the string is not terminated. A backslash escapes the next byte.
// Searches with memchr rather than byte by byte: digest credentials are
// mostly quoted strings.
inline size_t end_of_quoted(std::string_view s, size_t i) {
  for (++i; i < s.size();) {
    const char* from = s.data() + i;
    const void* quote = std::memchr(from, '"', s.size() - i);
    if (quote == nullptr) return std::string_view::npos;
    const size_t quote_at = static_cast<size_t>(static_cast<const char*>(quote) - s.data());
    const void* backslash = std::memchr(from, '\\', quote_at - i);
    if (backslash == nullptr) return quote_at + 1;
    // The escaped byte (which may be that quote) is skipped.
    i = static_cast<size_t>(static_cast<const char*>(backslash) - s.data()) + 2;
  }
  return std::string_view::npos;
}

// Calls on_item(trimmed item) for each item separated by commas outside quotes
// and angle brackets. Empty items are reported too, so callers can reject
// them. An unbalanced quote makes the rest of the value one last item (which
// the item parsers then reject) and the result false. Returns false as well
// when a callback returned false.
template <class OnItem>
bool for_each_list_item(std::string_view value, OnItem&& on_item) {
  // Nearly every Via and Contact holds one item: without a comma there is
  // nothing to split, quotes or not (a phone's Contact quotes its
  // +sip.instance), and one memchr replaces the scan character by character.
  if (value.find(',') == std::string_view::npos) return on_item(trim(value));
  size_t start = 0;
  bool in_angle = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '"') {
      size_t end = end_of_quoted(value, i);
      if (end == std::string_view::npos) {
        on_item(trim(value.substr(start)));
        return false;
      }
      i = end - 1;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      if (!on_item(trim(value.substr(start, i - start)))) return false;
      start = i + 1;
    }
  }
  return on_item(trim(value.substr(start)));
}

// A generic parameter: name [= value]. `value` of a quoted-string is the text
// between the quotes (escapes left as written).
struct Param {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
  bool quoted = false;
};

// Value characters of generic params beyond token chars: host forms such as
// IPv6 references (with or without brackets).
constexpr bool is_param_value_char(char c) {
  return is_token_char(c) || c == ':' || c == '[' || c == ']';
}

// Walks ";"-separated params (text after the first ';', no leading ';'),
// tolerating whitespace around ';' and '='. Returns false on a malformed
// parameter (empty, bad name, bad value) or when on_param returns false.
template <class OnParam>
bool for_each_param(std::string_view params, OnParam&& on_param) {
  size_t i = 0;
  const size_t n = params.size();
  while (true) {
    i = skip_ws(params, i);
    Param p;
    size_t name_end = skip_token(params, i);
    if (name_end == i) return false;
    p.name = params.substr(i, name_end - i);
    i = skip_ws(params, name_end);
    if (i < n && params[i] == '=') {
      i = skip_ws(params, i + 1);
      p.has_value = true;
      if (i < n && params[i] == '"') {
        size_t end = end_of_quoted(params, i);
        if (end == std::string_view::npos) return false;
        p.value = params.substr(i + 1, end - i - 2);
        p.quoted = true;
        i = end;
      } else {
        size_t start = i;
        while (i < n && is_param_value_char(params[i])) ++i;
        if (i == start) return false;
        p.value = params.substr(start, i - start);
      }
      i = skip_ws(params, i);
    }
    if (!on_param(p)) return false;
    if (i == n) return true;
    if (params[i] != ';') return false;
    ++i;
  }
}

// IPv6 address text (RFC 4291, tolerating RFC 5118 4.10's ":::" form) and the
// same inside brackets. Defined in uri.cpp.
bool valid_ipv6(std::string_view address);
bool valid_ipv6_reference(std::string_view bracketed);

}  // namespace cppbx::sip::detail
