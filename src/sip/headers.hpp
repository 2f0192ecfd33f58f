// Header identities and the structured headers the core needs: Via, CSeq,
// Contact lists, digest credentials and challenges, option-tag lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "sip/uri.hpp"

namespace cppbx::sip {

enum class HeaderId : uint8_t {
  Other,
  Accept, AcceptEncoding, AcceptLanguage, Allow, Authorization, CallId,
  Contact, ContentDisposition, ContentEncoding, ContentLength, ContentType,
  CSeq, Date, Event, Expires, From, MaxForwards, MinExpires, Path,
  ProxyAuthenticate, ProxyAuthorization, ProxyRequire, RecordRoute, Require,
  Route, Server, Supported, Timestamp, To, Unsupported, UserAgent, Via,
  WwwAuthenticate, AllowEvents, ReferTo, SessionExpires, MinSE,
  Count_  // keep last
};

// Maps a header name (case-insensitive, long or compact form such as "v",
// "f", "t", "i", "m", "l", "c", "k", "e", "s", "o", "u", "r", "x") to its id.
HeaderId header_id(std::string_view name);
// Canonical long name ("Via", "Call-ID", "WWW-Authenticate", ...).
std::string_view header_name(HeaderId id);
// Headers whose values are comma-separated lists (RFC 3261 7.3.1).
bool is_list_header(HeaderId id);

// Splits a header value at top-level commas (not inside quotes or <>).
std::vector<std::string_view> split_list(std::string_view value);

struct Via {
  std::string_view protocol;   // "SIP/2.0"
  std::string_view transport;  // "UDP", "TCP", "TLS", "WS", "WSS", ...
  std::string_view host;       // IPv6 keeps brackets
  uint16_t port = 0;           // 0 when absent
  std::string_view params;     // without leading ';'
  std::string_view branch;
  std::optional<std::string_view> received;
  bool has_rport = false;
  std::optional<uint16_t> rport;  // value when "rport=N"
  std::optional<std::string_view> maddr;
  std::optional<int> ttl;
  std::string_view text;       // the whole via-parm
  // RFC 3261 magic cookie "z9hG4bK" at the start of the branch.
  bool rfc3261_branch() const;
};
std::optional<Via> parse_via(std::string_view via_parm);

struct CSeq {
  uint32_t number = 0;
  std::string_view method;
};
std::optional<CSeq> parse_cseq(std::string_view value);

// One entry of a Contact header: either "*" or a name-addr with params
// (expires, q, +sip.instance, reg-id, ...).
struct Contact {
  bool star = false;
  NameAddr address;
  std::optional<uint32_t> expires() const;  // from the "expires" param
};
// Returns nullopt when any entry is malformed.
std::optional<std::vector<Contact>> parse_contacts(std::string_view value);
// Appends the entries of one Contact header value to `out`; false when any
// entry is malformed (`out` may then hold the entries before it).
bool append_contacts(std::string_view value, std::vector<Contact>& out);

// Digest challenge / credentials (RFC 3261 22, RFC 7616). Values are unquoted
// views; escaped quotes inside quoted strings are left as written.
struct AuthParams {
  std::string_view scheme;  // "Digest"
  std::vector<std::pair<std::string_view, std::string_view>> params;
  std::optional<std::string_view> get(std::string_view name) const;  // case-insensitive
};
std::optional<AuthParams> parse_auth_params(std::string_view value);

// Unsigned decimal that fits in T; rejects signs, spaces and overflow.
std::optional<uint32_t> parse_uint32(std::string_view text);

}  // namespace cppbx::sip
