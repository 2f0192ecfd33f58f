// Header name table and the structured header parsers (RFC 3261 section 20
// and 25; compact forms from RFC 3261 7.3.3 and later extensions).
//
// header_id() is called for every header of every message, so it dispatches
// on the length first and compares case-insensitively only against the few
// names of that length. All parsers return views into their input.
#include "sip/headers.hpp"

#include <array>
#include <initializer_list>

#include "common/strings.hpp"
#include "sip/scan.hpp"

namespace cppbx::sip {
namespace {

using namespace detail;

struct NameEntry {
  std::string_view name;
  HeaderId id;
};

constexpr std::array<NameEntry, static_cast<size_t>(HeaderId::Count_)> kCanonicalNames = {{
    {"", HeaderId::Other},
    {"Accept", HeaderId::Accept},
    {"Accept-Encoding", HeaderId::AcceptEncoding},
    {"Accept-Language", HeaderId::AcceptLanguage},
    {"Allow", HeaderId::Allow},
    {"Authorization", HeaderId::Authorization},
    {"Call-ID", HeaderId::CallId},
    {"Contact", HeaderId::Contact},
    {"Content-Disposition", HeaderId::ContentDisposition},
    {"Content-Encoding", HeaderId::ContentEncoding},
    {"Content-Length", HeaderId::ContentLength},
    {"Content-Type", HeaderId::ContentType},
    {"CSeq", HeaderId::CSeq},
    {"Date", HeaderId::Date},
    {"Event", HeaderId::Event},
    {"Expires", HeaderId::Expires},
    {"From", HeaderId::From},
    {"Max-Forwards", HeaderId::MaxForwards},
    {"Min-Expires", HeaderId::MinExpires},
    {"Path", HeaderId::Path},
    {"Proxy-Authenticate", HeaderId::ProxyAuthenticate},
    {"Proxy-Authorization", HeaderId::ProxyAuthorization},
    {"Proxy-Require", HeaderId::ProxyRequire},
    {"Record-Route", HeaderId::RecordRoute},
    {"Require", HeaderId::Require},
    {"Route", HeaderId::Route},
    {"Server", HeaderId::Server},
    {"Supported", HeaderId::Supported},
    {"Timestamp", HeaderId::Timestamp},
    {"To", HeaderId::To},
    {"Unsupported", HeaderId::Unsupported},
    {"User-Agent", HeaderId::UserAgent},
    {"Via", HeaderId::Via},
    {"WWW-Authenticate", HeaderId::WwwAuthenticate},
    {"Allow-Events", HeaderId::AllowEvents},
    {"Refer-To", HeaderId::ReferTo},
    {"Session-Expires", HeaderId::SessionExpires},
    {"Min-SE", HeaderId::MinSE},
}};

HeaderId compact_header_id(char c) {
  switch (ascii_lower(c)) {
    case 'i': return HeaderId::CallId;
    case 'm': return HeaderId::Contact;
    case 'e': return HeaderId::ContentEncoding;
    case 'l': return HeaderId::ContentLength;
    case 'c': return HeaderId::ContentType;
    case 'f': return HeaderId::From;
    case 'k': return HeaderId::Supported;
    case 't': return HeaderId::To;
    case 'v': return HeaderId::Via;
    case 'o': return HeaderId::Event;
    case 'u': return HeaderId::AllowEvents;
    case 'r': return HeaderId::ReferTo;
    case 'x': return HeaderId::SessionExpires;
    default: return HeaderId::Other;  // s (Subject), b, j, a, y, n, d: no id
  }
}

}  // namespace

// Candidates by first letter, so a lookup runs one or two iequals at most.
HeaderId header_id(std::string_view name) {
  if (name.empty()) return HeaderId::Other;
  if (name.size() == 1) return compact_header_id(name[0]);
  auto is = [name](HeaderId id) { return iequals(header_name(id), name); };
  auto first_of = [&is](std::initializer_list<HeaderId> ids) {
    for (HeaderId id : ids)
      if (is(id)) return id;
    return HeaderId::Other;
  };
  using H = HeaderId;
  switch (ascii_lower(name[0])) {
    case 'a': return first_of({H::Allow, H::Authorization, H::Accept, H::AllowEvents,
                               H::AcceptEncoding, H::AcceptLanguage});
    case 'c': return first_of({H::CallId, H::CSeq, H::Contact, H::ContentLength, H::ContentType,
                               H::ContentDisposition, H::ContentEncoding});
    case 'd': return first_of({H::Date});
    case 'e': return first_of({H::Expires, H::Event});
    case 'f': return first_of({H::From});
    case 'm': return first_of({H::MaxForwards, H::MinExpires, H::MinSE});
    case 'p': return first_of({H::ProxyAuthorization, H::ProxyAuthenticate, H::ProxyRequire, H::Path});
    case 'r': return first_of({H::Route, H::RecordRoute, H::Require, H::ReferTo});
    case 's': return first_of({H::Supported, H::Server, H::SessionExpires});
    case 't': return first_of({H::To, H::Timestamp});
    case 'u': return first_of({H::UserAgent, H::Unsupported});
    case 'v': return first_of({H::Via});
    case 'w': return first_of({H::WwwAuthenticate});
    default: return HeaderId::Other;
  }
}

std::string_view header_name(HeaderId id) {
  auto index = static_cast<size_t>(id);
  return index < kCanonicalNames.size() ? kCanonicalNames[index].name : std::string_view{};
}

bool is_list_header(HeaderId id) {
  switch (id) {
    case HeaderId::Accept:
    case HeaderId::AcceptEncoding:
    case HeaderId::AcceptLanguage:
    case HeaderId::Allow:
    case HeaderId::Contact:
    case HeaderId::ContentEncoding:
    case HeaderId::Path:
    case HeaderId::ProxyRequire:
    case HeaderId::RecordRoute:
    case HeaderId::Require:
    case HeaderId::Route:
    case HeaderId::Supported:
    case HeaderId::Unsupported:
    case HeaderId::Via:
    case HeaderId::AllowEvents:
      return true;
    default:
      return false;
  }
}

std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> items;
  if (trim(value).empty()) return items;
  for_each_list_item(value, [&items](std::string_view item) {
    items.push_back(item);
    return true;
  });
  return items;
}

std::optional<uint32_t> parse_uint32(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > UINT32_MAX) return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

bool Via::rfc3261_branch() const { return branch.substr(0, 7) == "z9hG4bK"; }

namespace {

// Skips SWS "/" SWS; returns npos when there is no slash.
size_t skip_slash(std::string_view s, size_t i) {
  i = skip_ws(s, i);
  if (i >= s.size() || s[i] != '/') return std::string_view::npos;
  return skip_ws(s, i + 1);
}

bool apply_via_param(const Param& p, Via& via) {
  if (iequals(p.name, "branch")) {
    if (p.value.empty()) return false;
    via.branch = p.value;
  } else if (iequals(p.name, "received")) {
    if (p.value.empty()) return false;
    via.received = p.value;
  } else if (iequals(p.name, "rport")) {
    via.has_rport = true;
    if (p.has_value) {
      uint16_t port = 0;
      auto value = parse_uint32(p.value);
      if (!value || *value > 65535) return false;
      port = static_cast<uint16_t>(*value);
      via.rport = port;
    }
  } else if (iequals(p.name, "maddr")) {
    if (p.value.empty()) return false;
    via.maddr = p.value;
  } else if (iequals(p.name, "ttl")) {
    auto value = parse_uint32(p.value);
    if (!value || *value > 255) return false;
    via.ttl = static_cast<int>(*value);
  }
  return true;
}

// sent-by = host [ COLON port ], where host may be an IPv6 reference.
bool parse_sent_by(std::string_view s, size_t& i, Via& via) {
  size_t start = i;
  if (i < s.size() && s[i] == '[') {
    size_t close = s.find(']', i);
    if (close == std::string_view::npos) return false;
    i = close + 1;
  } else {
    while (i < s.size() && has_class(s[i], kHostChar)) ++i;
  }
  if (i == start) return false;
  via.host = s.substr(start, i - start);
  if (via.host.front() == '[' && !valid_ipv6_reference(via.host)) return false;
  size_t j = skip_ws(s, i);
  if (j < s.size() && s[j] == ':') {
    j = skip_ws(s, j + 1);
    size_t digits = j;
    while (j < s.size() && is_digit(s[j])) ++j;
    auto port = parse_uint32(s.substr(digits, j - digits));
    if (!port || *port > 65535 || *port == 0) return false;
    via.port = static_cast<uint16_t>(*port);
    i = j;
  }
  return true;
}

}  // namespace

std::optional<Via> parse_via(std::string_view via_parm) {
  std::string_view s = trim(via_parm);
  Via via;
  via.text = s;
  size_t name_end = skip_token(s, 0);
  if (name_end == 0) return std::nullopt;
  size_t version_start = skip_slash(s, name_end);
  if (version_start == std::string_view::npos) return std::nullopt;
  size_t version_end = skip_token(s, version_start);
  if (version_end == version_start) return std::nullopt;
  size_t transport_start = skip_slash(s, version_end);
  if (transport_start == std::string_view::npos) return std::nullopt;
  size_t transport_end = skip_token(s, transport_start);
  if (transport_end == transport_start) return std::nullopt;

  std::string_view name = s.substr(0, name_end);
  std::string_view version = s.substr(version_start, version_end - version_start);
  // Folded or spaced forms ("SIP / 2.0") still report the canonical text.
  via.protocol = (iequals(name, "SIP") && version == "2.0") ? std::string_view("SIP/2.0")
                                                            : s.substr(0, version_end);
  via.transport = s.substr(transport_start, transport_end - transport_start);

  size_t i = skip_ws(s, transport_end);
  if (i == transport_end) return std::nullopt;  // LWS required before sent-by
  if (!parse_sent_by(s, i, via)) return std::nullopt;
  i = skip_ws(s, i);
  if (i == s.size()) return via;
  if (s[i] != ';') return std::nullopt;
  via.params = trim(s.substr(i + 1));
  bool ok = for_each_param(via.params, [&via](const Param& p) { return apply_via_param(p, via); });
  if (!ok) return std::nullopt;
  return via;
}

std::optional<CSeq> parse_cseq(std::string_view value) {
  std::string_view s = trim(value);
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  auto number = parse_uint32(s.substr(0, i));
  // RFC 3261 8.1.1.5: the sequence number MUST be less than 2**31.
  if (!number || *number > 0x7fffffffu) return std::nullopt;
  size_t method_start = skip_ws(s, i);
  if (method_start == i) return std::nullopt;
  std::string_view method = s.substr(method_start);
  if (!is_token(method)) return std::nullopt;
  return CSeq{*number, method};
}

std::optional<uint32_t> Contact::expires() const {
  auto value = address.param("expires");
  if (!value || value->empty()) return std::nullopt;
  for (char c : *value)
    if (!is_digit(c)) return std::nullopt;
  // delta-seconds beyond 32 bits are clamped rather than rejected.
  return parse_uint32(*value).value_or(UINT32_MAX);
}

bool append_contacts(std::string_view value, std::vector<Contact>& out) {
  if (trim(value) == "*") {
    out.push_back(Contact{true, {}});
    return true;
  }
  return for_each_list_item(value, [&out](std::string_view item) {
    auto address = parse_name_addr(item);
    if (!address) return false;
    out.push_back(Contact{false, *address});
    return true;
  });
}

std::optional<std::vector<Contact>> parse_contacts(std::string_view value) {
  std::vector<Contact> contacts;
  if (!append_contacts(value, contacts) || contacts.empty()) return std::nullopt;
  return contacts;
}

std::optional<std::string_view> AuthParams::get(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

namespace {

// Unquoted auth-param values are tokens, plus '/', '=' and ':' that real
// clients put in unquoted nonces and URIs (base64, sip:...).
constexpr bool is_auth_value_char(char c) { return is_token_char(c) || c == '/' || c == '=' || c == ':'; }

}  // namespace

// One pass over the value: every Authorization header of every REGISTER
// comes through here, and splitting into items first scanned it twice.
std::optional<AuthParams> parse_auth_params(std::string_view value) {
  std::string_view s = trim(value);
  AuthParams out;
  size_t scheme_end = skip_token(s, 0);
  if (scheme_end == 0) return std::nullopt;
  out.scheme = s.substr(0, scheme_end);
  if (scheme_end < s.size() && !is_ws(s[scheme_end])) return std::nullopt;
  // Digest credentials carry ten or so parameters: one allocation, not five.
  out.params.reserve(12);
  const size_t n = s.size();
  size_t i = scheme_end;
  while (true) {
    // "#rule" tolerates empty elements: skip whitespace and stray commas.
    while (i < n && (is_ws(s[i]) || s[i] == ',')) ++i;
    if (i == n) return out;
    size_t name_end = skip_token(s, i);
    if (name_end == i) return std::nullopt;
    std::string_view name = s.substr(i, name_end - i);
    i = skip_ws(s, name_end);
    if (i == n || s[i] != '=') return std::nullopt;
    i = skip_ws(s, i + 1);
    std::string_view param_value;
    if (i < n && s[i] == '"') {
      size_t end = end_of_quoted(s, i);
      if (end == std::string_view::npos) return std::nullopt;
      param_value = s.substr(i + 1, end - i - 2);
      i = end;
    } else {
      size_t start = i;
      while (i < n && is_auth_value_char(s[i])) ++i;
      if (i == start) return std::nullopt;
      param_value = s.substr(start, i - start);
    }
    out.params.emplace_back(name, param_value);
    i = skip_ws(s, i);
    if (i < n && s[i] != ',') return std::nullopt;
  }
}

}  // namespace cppbx::sip
