// AoR keys are the map keys of every locator, so they must be cheap to build
// and stable: one string "sip:user@domain". The user is %-unescaped because
// "sip:%61lice@x" and "sip:alice@x" are the same URI (RFC 3261 19.1.4) while
// the user part stays case-sensitive; the domain is lowercased and loses its
// port, so a phone registering to "10.0.0.5:5060" and one to "10.0.0.5" meet
// the same bindings. sips: folds to sip: (one user, one set of bindings).
#include "location/aor.hpp"

#include "common/strings.hpp"
#include "common/url_parts.hpp"

namespace cppbx::location {
namespace {

using url::hex_value;

// A malformed escape ("%G1", a trailing "%") is kept literally: a key must
// exist for every input, and the parser already vetted well-formed URIs.
void append_unescaped(std::string& out, std::string_view text) {
  if (text.find('%') == std::string_view::npos) {
    out.append(text);  // the usual case, one copy
    return;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
}

void append_aor_key(std::string& key, std::string_view user, std::string_view domain) {
  std::string_view host = sip::host_without_port(domain);
  key.reserve(key.size() + 4 + user.size() + 1 + host.size());
  key.append("sip:");
  if (!user.empty()) {
    append_unescaped(key, user);
    key.push_back('@');
  }
  const size_t host_start = key.size();
  key.append(host);
  for (size_t i = host_start; i < key.size(); ++i) key[i] = ascii_lower(key[i]);
}
}  // namespace

std::string aor_key(std::string_view user, std::string_view domain) {
  std::string key;
  append_aor_key(key, user, domain);
  return key;
}

bool is_aor_of(std::string_view aor, std::string_view user, std::string_view domain) {
  thread_local std::string key;
  key.clear();
  append_aor_key(key, user, domain);
  return key == aor;
}

std::string aor_key(const sip::Uri& uri) { return aor_key(uri.user, uri.host); }

}  // namespace cppbx::location
