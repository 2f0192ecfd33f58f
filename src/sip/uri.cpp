// SIP/SIPS/tel URI and name-addr parsing (RFC 3261 19.1, 20.10, 25.1; RFC 3966;
// RFC 5118 for IPv6 references).
//
// Hand-written scanners over string_views: no regex, no allocation. Escapes
// are validated but never decoded, so every field stays a view of the input.
// Where the grammar is ambiguous we follow what deployed stacks do: the
// userinfo ends at the first '@', and an addr-spec outside <> ends at the
// first ';' (what follows are header parameters, RFC 3261 20.10).
#include "sip/uri.hpp"

#include "common/strings.hpp"
#include "sip/scan.hpp"

namespace cppbx::sip {
namespace detail {

static bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    uint32_t value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
    if (i == start || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// The text between '[' and ']'. Tolerates the three-colon form that RFC 3261's
// ABNF admitted before an embedded IPv4 address (RFC 5118 section 4.10).
bool valid_ipv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 64) return false;
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ':') {
      if (i + 1 < s.size() && s[i + 1] == ':') {
        if (compressed) return false;  // "::" may appear once
        compressed = true;
        while (i < s.size() && s[i] == ':') ++i;
        continue;
      }
      if (i == 0 || i + 1 == s.size()) return false;  // lone leading/trailing colon
      ++i;
      continue;
    }
    size_t start = i;
    while (i < s.size() && s[i] != ':') ++i;
    std::string_view group = s.substr(start, i - start);
    if (group.find('.') != std::string_view::npos) {
      if (i != s.size() || !valid_ipv4(group)) return false;
      groups += 2;
    } else {
      if (group.size() > 4) return false;
      for (char c : group)
        if (!has_class(c, kHex)) return false;
      groups += 1;
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

bool valid_ipv6_reference(std::string_view bracketed) {
  return bracketed.size() >= 2 && bracketed.front() == '[' && bracketed.back() == ']' &&
         valid_ipv6(bracketed.substr(1, bracketed.size() - 2));
}

}  // namespace detail

namespace {

using namespace detail;

// Position of the first `a` or `b` in `s`, or npos. (string_view's
// find_first_of calls memchr over the set once per byte of `s`, which made it
// the parser's single most expensive call.)
size_t find_either(std::string_view s, char a, char b) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == a || s[i] == b) return i;
  }
  return std::string_view::npos;
}

// True when every byte is in `allowed` or starts a well-formed %HH escape.
bool valid_escaped_run(std::string_view s, uint16_t allowed) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return false;
      if (!has_class(s[i + 1], kHex) || !has_class(s[i + 2], kHex)) return false;
      i += 2;
    } else if (!has_class(s[i], allowed)) {
      return false;
    }
  }
  return true;
}

bool parse_port(std::string_view digits, uint16_t& port) {
  if (digits.empty() || digits.size() > 5) return false;
  uint32_t value = 0;
  for (char c : digits) {
    if (!is_digit(c)) return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

bool valid_hostname(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!has_class(c, kHostChar)) return false;
  return true;
}

// host [":" port], where host may be an IPv6 reference.
bool parse_host_port(std::string_view s, Uri& uri) {
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || !valid_ipv6(s.substr(1, close - 1))) return false;
    uri.host = s.substr(0, close + 1);
    rest = s.substr(close + 1);
  } else {
    size_t colon = s.find(':');
    uri.host = s.substr(0, colon);
    if (!valid_hostname(uri.host)) return false;
    rest = colon == std::string_view::npos ? std::string_view{} : s.substr(colon);
  }
  if (rest.empty()) return true;
  return rest.front() == ':' && parse_port(rest.substr(1), uri.port);
}

// uri-parameters after the first ';': pname [= pvalue] with paramchar bytes.
bool valid_uri_params(std::string_view params) {
  if (params.empty()) return false;
  size_t start = 0;
  while (start <= params.size()) {
    size_t end = params.find(';', start);
    if (end == std::string_view::npos) end = params.size();
    std::string_view param = params.substr(start, end - start);
    size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    constexpr uint16_t kParamChar = kAlnum | kMark | kParamExtra;
    if (name.empty() || !valid_escaped_run(name, kParamChar)) return false;
    if (eq != std::string_view::npos) {
      std::string_view value = param.substr(eq + 1);
      if (value.empty() || !valid_escaped_run(value, kParamChar)) return false;
    }
    start = end + 1;
  }
  return true;
}

// headers after '?': hname "=" hvalue *("&" hname "=" hvalue).
bool valid_uri_headers(std::string_view headers) {
  constexpr uint16_t kHnvChar = kAlnum | kMark | kHeaderExtra;
  size_t start = 0;
  while (start <= headers.size()) {
    size_t end = headers.find('&', start);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view header = headers.substr(start, end - start);
    size_t eq = header.find('=');
    if (eq == 0 || eq == std::string_view::npos) return false;
    if (!valid_escaped_run(header.substr(0, eq), kHnvChar)) return false;
    if (!valid_escaped_run(header.substr(eq + 1), kHnvChar)) return false;
    start = end + 1;
  }
  return true;
}

std::optional<Uri> parse_sip_uri(Uri uri, std::string_view rest) {
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    size_t colon = userinfo.find(':');
    uri.user = userinfo.substr(0, colon);
    if (uri.user.empty() || !valid_escaped_run(uri.user, kAlnum | kMark | kUserExtra)) {
      return std::nullopt;
    }
    if (colon != std::string_view::npos) {
      uri.password = userinfo.substr(colon + 1);
      if (!valid_escaped_run(uri.password, kAlnum | kMark | kPasswordExtra)) return std::nullopt;
    }
    rest = rest.substr(at + 1);
  }
  size_t host_end = find_either(rest, ';', '?');
  if (!parse_host_port(rest.substr(0, host_end), uri)) return std::nullopt;
  if (host_end == std::string_view::npos) return uri;
  rest = rest.substr(host_end);
  if (rest.front() == ';') {
    size_t question = rest.find('?');
    uri.params = rest.substr(1, question == std::string_view::npos ? std::string_view::npos
                                                                    : question - 1);
    if (!valid_uri_params(uri.params)) return std::nullopt;
    if (question == std::string_view::npos) return uri;
    rest = rest.substr(question);
  }
  uri.headers = rest.substr(1);
  if (!valid_uri_headers(uri.headers)) return std::nullopt;
  return uri;
}

// RFC 3966 telephone-subscriber: a global (+digits) or local number, then
// parameters such as ;phone-context=.
std::optional<Uri> parse_tel_uri(Uri uri, std::string_view rest) {
  size_t semi = rest.find(';');
  std::string_view number = rest.substr(0, semi);
  std::string_view digits = number;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  bool has_digit = false;
  for (char c : digits) {
    if (has_class(c, kHex) || c == '*' || c == '#') {
      has_digit = true;
    } else if (c != '-' && c != '.' && c != '(' && c != ')') {
      return std::nullopt;
    }
  }
  if (!has_digit) return std::nullopt;
  uri.user = number;
  if (semi != std::string_view::npos) {
    uri.params = rest.substr(semi + 1);
    if (!valid_uri_params(uri.params)) return std::nullopt;
  }
  return uri;
}

// absoluteURI of a scheme we do not handle: only checked for plausibility.
std::optional<Uri> parse_other_uri(Uri uri, std::string_view rest) {
  if (rest.empty()) return std::nullopt;
  for (char c : rest) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == '"') return std::nullopt;
  }
  return uri;
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !has_class(s.front(), kAlnum) || is_digit(s.front())) return false;
  for (char c : s)
    if (!has_class(c, kAlnum) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

// Lenient lookup shared by URI and header parameters: splits at ';' outside
// quotes and trims around '='. Validation is the parsers' job.
std::optional<std::string_view> lookup_param(std::string_view params, std::string_view name) {
  size_t start = 0;
  while (start <= params.size()) {
    size_t end = start;
    while (end < params.size() && params[end] != ';') {
      if (params[end] == '"') {
        size_t closing = end_of_quoted(params, end);
        end = closing == std::string_view::npos ? params.size() : closing;
      } else {
        ++end;
      }
    }
    std::string_view param = params.substr(start, end - start);
    size_t eq = param.find('=');
    if (iequals(trim(param.substr(0, eq)), name)) {
      if (eq == std::string_view::npos) return std::string_view{};
      std::string_view value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::string_view host_without_port(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    return close == std::string_view::npos ? hostport : hostport.substr(0, close + 1);
  }
  size_t colon = hostport.find(':');
  if (colon != std::string_view::npos && hostport.find(':', colon + 1) == std::string_view::npos) {
    return hostport.substr(0, colon);  // exactly one colon: host:port
  }
  return hostport;
}

std::optional<std::string_view> find_param(std::string_view params, std::string_view name) {
  return lookup_param(params, name);
}

std::optional<std::string_view> Uri::param(std::string_view name) const {
  return lookup_param(params, name);
}

std::optional<std::string_view> NameAddr::param(std::string_view name) const {
  return lookup_param(params, name);
}

std::optional<Uri> parse_uri(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || !valid_scheme(text.substr(0, colon))) return std::nullopt;
  Uri uri;
  uri.text = text;
  uri.scheme_text = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (iequals(uri.scheme_text, "sip")) {
    uri.scheme = UriScheme::Sip;
    return parse_sip_uri(uri, rest);
  }
  if (iequals(uri.scheme_text, "sips")) {
    uri.scheme = UriScheme::Sips;
    return parse_sip_uri(uri, rest);
  }
  if (iequals(uri.scheme_text, "tel")) {
    uri.scheme = UriScheme::Tel;
    return parse_tel_uri(uri, rest);
  }
  return parse_other_uri(uri, rest);
}

namespace {

// display-name as *(token LWS): returns the end of the name (the '<'), or npos
// when the text is not a token sequence followed by '<'.
size_t end_of_token_display_name(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (is_token_char(s[i]) || is_ws(s[i])) {
      ++i;
    } else {
      return s[i] == '<' ? i : std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

// After the address: [ ";" params ] with nothing else.
bool parse_trailing_params(std::string_view rest, NameAddr& out) {
  rest = trim(rest);
  if (rest.empty()) {
    out.tag_noted = true;
    return true;
  }
  if (rest.front() != ';') return false;
  out.params = trim(rest.substr(1));
  bool found = false;
  bool valid = for_each_param(out.params, [&](const Param& p) {
    if (!found && iequals(p.name, "tag")) {
      out.noted_tag = p.value;
      found = true;
    }
    return true;
  });
  out.tag_noted = valid;
  return valid;
}

}  // namespace

std::optional<NameAddr> parse_name_addr(std::string_view text) {
  NameAddr out;
  std::string_view s = trim(text);
  out.text = s;
  if (s.empty()) return std::nullopt;

  size_t laquot = std::string_view::npos;
  if (s.front() == '"') {
    size_t end = end_of_quoted(s, 0);
    if (end == std::string_view::npos) return std::nullopt;
    out.display_name = s.substr(1, end - 2);
    laquot = skip_ws(s, end);
    if (laquot >= s.size() || s[laquot] != '<') return std::nullopt;
  } else if (s.front() == '<') {
    laquot = 0;
  } else {
    size_t token_end = skip_token(s, 0);
    if (token_end < s.size() && s[token_end] == ':') {
      // addr-spec: the URI runs to the first ';' or whitespace.
      size_t uri_end = 0;
      while (uri_end < s.size() && s[uri_end] != ';' && !is_ws(s[uri_end])) ++uri_end;
      std::string_view uri_text = s.substr(0, uri_end);
      // RFC 3261 20.10: a URI with '?' or ',' must be in name-addr form.
      if (find_either(uri_text, '?', ',') != std::string_view::npos) return std::nullopt;
      auto uri = parse_uri(uri_text);
      if (!uri) return std::nullopt;
      out.uri = *uri;
      if (!parse_trailing_params(s.substr(uri_end), out)) return std::nullopt;
      return out;
    }
    laquot = end_of_token_display_name(s);
    if (laquot == std::string_view::npos) return std::nullopt;
    out.display_name = trim(s.substr(0, laquot));
  }

  size_t raquot = s.find('>', laquot);
  if (raquot == std::string_view::npos) return std::nullopt;
  auto uri = parse_uri(s.substr(laquot + 1, raquot - laquot - 1));
  if (!uri) return std::nullopt;
  out.uri = *uri;
  if (!parse_trailing_params(s.substr(raquot + 1), out)) return std::nullopt;
  return out;
}

}  // namespace cppbx::sip
