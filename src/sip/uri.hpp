// SIP, SIPS and tel URIs (RFC 3261 section 19.1 and 25.1, RFC 3966), and the
// name-addr / addr-spec forms used in From, To, Contact, Route and friends.
// All fields are views into the text that was parsed; nothing is copied.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cppbx::sip {

enum class UriScheme : uint8_t { Unknown, Sip, Sips, Tel };

struct Uri {
  UriScheme scheme = UriScheme::Unknown;
  std::string_view scheme_text;
  std::string_view user;        // still %-escaped as on the wire
  std::string_view password;
  std::string_view host;        // IPv6 references keep their brackets
  uint16_t port = 0;            // 0 when absent
  std::string_view params;      // ";a=b;c" without the leading ';' (may be empty)
  std::string_view headers;     // "a=b&c=d" without the leading '?'
  std::string_view text;        // the whole URI

  bool valid() const { return scheme != UriScheme::Unknown; }
  bool host_is_ipv6() const { return !host.empty() && host.front() == '['; }
  // Parameter value by case-insensitive name. A parameter without '=' has an
  // empty value; absence is nullopt.
  std::optional<std::string_view> param(std::string_view name) const;
};

// Parses an absolute URI. Returns nullopt when it is not a well formed
// sip:, sips: or tel: URI; other schemes yield a Uri with scheme Unknown and
// only scheme_text and text set (a request to such a URI gets 416).
std::optional<Uri> parse_uri(std::string_view text);

// name-addr or addr-spec with header parameters, as in From/To/Contact.
struct NameAddr {
  std::string_view display_name;  // without quotes; may contain escapes
  Uri uri;
  std::string_view params;        // header params after the URI, no leading ';'
  std::string_view text;          // the whole value
  std::optional<std::string_view> param(std::string_view name) const;
  // The transaction and dialog layers ask for the tag several times per
  // request; parse_name_addr notes it while validating the params.
  std::string_view tag() const { return tag_noted ? noted_tag : param("tag").value_or(std::string_view{}); }
  bool tag_noted = false;
  std::string_view noted_tag;  // empty when there is no tag
};
std::optional<NameAddr> parse_name_addr(std::string_view text);

// "example.com:5060" -> "example.com", "[::1]:5060" -> "[::1]"; a bare IPv6
// address ("::1", several colons) has no port and stays whole.
std::string_view host_without_port(std::string_view hostport);

// Generic ";name=value" parameter lookup over a params string as stored in
// Uri::params / NameAddr::params / Via::params. Case-insensitive name.
std::optional<std::string_view> find_param(std::string_view params, std::string_view name);

}  // namespace cppbx::sip
