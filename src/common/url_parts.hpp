// The pieces of a server URL that several readers handle the same way: %XX
// encoding and decoding, and splitting "host", "[v6]", "host:port" or "[v6]:port". Shared
// by database_url (SQL servers) and the Redis client so both accept the same
// authorities; each caller words its own errors, and none repeats the URL
// (it may hold a password).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cppbx::url {

// The value of one hex digit, or -1.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; nullopt on a broken escape. '+' stays '+' (not a form body).
std::optional<std::string> percent_decoded(std::string_view text);

// Percent-encodes all but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~),
// so the result is safe in any part of a URL.
std::string percent_encoded(std::string_view text);

struct HostPort {
  std::string_view host;  // without the brackets of an IPv6 literal; may be empty
  std::string_view port;  // the text after the separating ':', possibly empty
};

enum class HostPortError { UnclosedBracket, TextAfterBracket };

// nullopt (with the reason in `error`) only for a malformed IPv6 literal.
std::optional<HostPort> split_host_port(std::string_view text, HostPortError& error);

// A port from 1 to 65535 written in decimal, nothing else.
std::optional<uint16_t> parse_port(std::string_view text);

}  // namespace cppbx::url
