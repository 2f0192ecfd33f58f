// See digest_authenticator.hpp for the decisions. Everything here works on
// string views into the received header; the only allocations are the hex
// strings of the hashes and the challenge values.
#include "auth/digest_authenticator.hpp"

#include <algorithm>

namespace cppbx::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void append_quoted(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::Ok: return "ok";
    case Verdict::Stale: return "stale nonce";
    case Verdict::Replay: return "nonce count replay";
    case Verdict::InvalidNonce: return "invalid nonce";
    case Verdict::WrongResponse: return "wrong response";
    case Verdict::Malformed: return "malformed credentials";
    case Verdict::UnsupportedAlgorithm: return "unsupported algorithm";
    case Verdict::UnsupportedQop: return "unsupported qop";
    case Verdict::CannotVerify: return "stored HA1 does not fit the algorithm";
  }
  return "unknown";
}

std::optional<uint64_t> parse_nonce_count(std::string_view nc) {
  if (nc.empty() || nc.size() > 8) return std::nullopt;
  uint64_t value = 0;
  for (char c : nc) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<uint64_t>(digit);
  }
  return value;
}

DigestAuthenticator::DigestAuthenticator(Options options, SecondsClock clock)
    : options_(std::move(options)),
      issuer_(options_.secret, options_.nonce_lifetime, clock),
      counter_(options_.max_tracked_nonces, clock) {
  if (options_.algorithms.empty()) options_.algorithms = {DigestAlgorithm::Sha256, DigestAlgorithm::Md5};
  // The secret is only needed to key the HMAC; do not keep it around.
  std::fill(options_.secret.begin(), options_.secret.end(), '\0');
  options_.secret.clear();
}

std::optional<std::vector<DigestAlgorithm>> DigestAuthenticator::parse_algorithm_list(
    const std::vector<std::string>& names, std::string* bad_name) {
  std::vector<DigestAlgorithm> result;
  for (const std::string& name : names) {
    auto algorithm = parse_algorithm(name);
    if (!algorithm) {
      if (bad_name != nullptr) *bad_name = name;
      return std::nullopt;
    }
    if (std::find(result.begin(), result.end(), *algorithm) == result.end()) {
      result.push_back(*algorithm);
    }
  }
  return result;
}

std::vector<std::string> DigestAuthenticator::challenges(
    std::string_view realm, bool stale, std::optional<DigestAlgorithm> only) const {
  std::string nonce = issuer_.issue();
  std::vector<std::string> values;
  values.reserve(options_.algorithms.size());
  for (DigestAlgorithm algorithm : options_.algorithms) {
    if (only && algorithm != *only) continue;
    std::string value;
    value.reserve(96 + realm.size() + nonce.size() + issuer_.opaque().size());
    value += "Digest realm=";
    append_quoted(value, realm);
    value += ", nonce=\"";
    value += nonce;
    value += "\", opaque=\"";
    value += issuer_.opaque();
    value += "\", algorithm=";
    value += algorithm_name(algorithm);
    value += ", qop=\"auth\"";
    if (stale) value += ", stale=true";
    values.push_back(std::move(value));
  }
  return values;
}

bool DigestAuthenticator::offered(DigestAlgorithm algorithm) const {
  return std::find(options_.algorithms.begin(), options_.algorithms.end(), algorithm) !=
         options_.algorithms.end();
}

Precheck DigestAuthenticator::precheck(const DigestCredentials& c) const {
  Precheck result;
  if (c.username.empty() || c.realm.empty() || c.nonce.empty() || c.uri.empty() ||
      c.response.empty()) {
    return result;  // Malformed
  }
  if (!c.algorithm.empty()) {
    auto algorithm = parse_algorithm(c.algorithm);
    if (!algorithm || !offered(*algorithm)) {
      result.verdict = Verdict::UnsupportedAlgorithm;
      return result;
    }
    result.algorithm = *algorithm;
  } else if (!offered(DigestAlgorithm::Md5)) {
    result.verdict = Verdict::UnsupportedAlgorithm;
    return result;
  }
  // Every challenge offers qop="auth" (RFC 7616 3.3), so an answer without
  // qop (RFC 2069 style) would skip the cnonce and nonce-count protection:
  // it is re-challenged like any qop we do not support.
  if (!iequals(c.qop, "auth")) {
    result.verdict = Verdict::UnsupportedQop;
    return result;
  }
  auto nc = parse_nonce_count(c.nc);
  if (!nc || c.cnonce.empty()) return result;  // Malformed
  result.nc = *nc;
  if (c.response.size() != hex_digest_length(result.algorithm)) return result;
  result.nonce = issuer_.check(c.nonce);
  // An opaque from elsewhere means the nonce is not one of our challenges.
  if (!c.opaque.empty() && c.opaque != issuer_.opaque()) result.nonce.status = NonceStatus::Invalid;
  result.verdict = Verdict::Ok;
  return result;
}

Verdict DigestAuthenticator::verify(const DigestCredentials& credentials, std::string_view method,
                                    const UserSecret& secret) {
  return verify(credentials, method, secret, precheck(credentials));
}

Verdict DigestAuthenticator::verify(const DigestCredentials& c, std::string_view method,
                                    const UserSecret& secret, const Precheck& checked) {
  if (checked.verdict != Verdict::Ok) return checked.verdict;
  HexDigest computed_ha1;
  std::string stored_ha1;
  std::string_view ha1;
  if (!secret.password.empty()) {
    computed_ha1 = compute_ha1(checked.algorithm, c.username, c.realm, secret.password);
    ha1 = computed_ha1;
  } else if (!secret.ha1_md5.empty() && checked.algorithm == DigestAlgorithm::Md5) {
    stored_ha1.assign(secret.ha1_md5);
    for (char& ch : stored_ha1) {
      if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch + 32);
    }
    ha1 = stored_ha1;
  } else if (!secret.ha1_md5.empty()) {
    return Verdict::CannotVerify;
  } else {
    return Verdict::WrongResponse;  // a user without any secret never authenticates
  }
  // RFC 7616 3.4.1: the qop token as the client sent it is part of the hash.
  HexDigest expected = compute_response(
      checked.algorithm, {ha1, c.nonce, method, c.uri, c.qop, c.nc, c.cnonce});
  if (!hex_digests_equal(expected, c.response)) return Verdict::WrongResponse;
  if (checked.nonce.status == NonceStatus::Stale) return Verdict::Stale;
  if (checked.nonce.status == NonceStatus::Invalid) return Verdict::InvalidNonce;
  switch (counter_.record(checked.nonce.key, checked.nonce.expires_at, checked.nc)) {
    case CountResult::Accepted: return Verdict::Ok;
    case CountResult::Replay: return Verdict::Replay;
    case CountResult::Full: return Verdict::Stale;  // a fresh nonce gets a new chance
  }
  return Verdict::Replay;
}

}  // namespace cppbx::auth
