// The digest scheme as a server runs it: build challenges, check credentials.
//
// Verification is split in two so that the caller never looks a user up for
// credentials that cannot be right anyway: precheck() needs only the
// credentials (structure, algorithm, qop, opaque, nonce signature and age);
// verify() then needs the user's password or stored HA1 and checks the
// response and the nonce count.
//
// Decisions:
// - Only the configured algorithms are accepted (no downgrade to MD5 when the
//   operator offers SHA-256 only). A missing algorithm means MD5 (RFC 7616).
// - qop must be "auth" or absent; "auth-int" and the "-sess" algorithms are
//   refused as unsupported. Without qop (RFC 2069 clients) there is no nc, so
//   such a nonce is single-use: its second use is a replay.
// - A replayed nc, a stale nonce or a nonce we did not issue (another server,
//   or ours before a restart with a new secret) is reported only when the
//   response is otherwise correct (RFC 7616: stale=true means "the password
//   was right, retry with a fresh nonce"); with a wrong response the verdict
//   is WrongResponse. The response can be checked for any nonce string, so
//   precheck() lets unknown nonces through to verify().
// - An absent nc (no qop) or the nc of a nonce are recorded only after the
//   response was found correct.
// - A stored HA1 is MD5 only; credentials computed with another algorithm
//   cannot be checked against it (CannotVerify).
// - `opaque` is optional in the credentials but, when present, must be ours.
// - The digest-uri is taken as sent (it is part of the hash); whether it names
//   the request is not checked here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/digest.hpp"
#include "auth/nonce.hpp"

namespace cppbx::auth {

// Views into an Authorization / Proxy-Authorization header; empty when absent.
struct DigestCredentials {
  std::string_view username;
  std::string_view realm;
  std::string_view nonce;
  std::string_view uri;
  std::string_view response;
  std::string_view algorithm;
  std::string_view cnonce;
  std::string_view nc;
  std::string_view qop;
  std::string_view opaque;
};

// The secret a user backend knows: a plaintext password, or HA1 for MD5.
struct UserSecret {
  std::string_view password;
  std::string_view ha1_md5;
};

enum class Verdict {
  Ok,
  Stale,            // correct response, nonce too old: re-challenge stale=true
  Replay,           // correct response, nc not above the highest seen
  InvalidNonce,     // correct response, nonce (or opaque) not ours: re-challenge stale=true
  WrongResponse,    // wrong password (or username/realm/uri tampered)
  Malformed,        // a required field is missing or unparsable
  UnsupportedAlgorithm,
  UnsupportedQop,
  CannotVerify,     // only an MD5 HA1 is stored but another algorithm was used
};
std::string_view verdict_name(Verdict verdict);

struct Precheck {
  Verdict verdict = Verdict::Malformed;  // Ok when verify() may proceed
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;
  NonceCheck nonce;
  uint64_t nc = NonceCounter::kSingleUse;
};

class DigestAuthenticator {
 public:
  struct Options {
    std::vector<DigestAlgorithm> algorithms = {DigestAlgorithm::Sha256, DigestAlgorithm::Md5};
    std::chrono::seconds nonce_lifetime{300};
    std::string secret;  // empty: random per process
    size_t max_tracked_nonces = 1'000'000;
  };

  explicit DigestAuthenticator(Options options, SecondsClock clock = system_seconds);

  // Names from the configuration ("SHA-256", "MD5", "SHA-512-256"); nullopt
  // and the offending name in `bad_name` when one is unknown.
  static std::optional<std::vector<DigestAlgorithm>> parse_algorithm_list(
      const std::vector<std::string>& names, std::string* bad_name = nullptr);

  // One WWW-Authenticate / Proxy-Authenticate value per offered algorithm, in
  // the configured order, sharing one fresh nonce. With `only`, just that
  // algorithm (e.g. MD5 for a user whose backend stores an MD5 HA1).
  std::vector<std::string> challenges(std::string_view realm, bool stale,
                                      std::optional<DigestAlgorithm> only = std::nullopt) const;

  Precheck precheck(const DigestCredentials& credentials) const;
  // Runs precheck() itself; records the nonce count when the verdict is Ok.
  Verdict verify(const DigestCredentials& credentials, std::string_view method,
                 const UserSecret& secret);
  Verdict verify(const DigestCredentials& credentials, std::string_view method,
                 const UserSecret& secret, const Precheck& checked);

  const std::vector<DigestAlgorithm>& algorithms() const { return options_.algorithms; }
  const NonceIssuer& nonces() const { return issuer_; }
  size_t tracked_nonces() const { return counter_.size(); }

 private:
  bool offered(DigestAlgorithm algorithm) const;
  Options options_;
  NonceIssuer issuer_;
  NonceCounter counter_;
};

// "00000001" -> 1; at most 8 hex digits, as RFC 7616 defines nc.
std::optional<uint64_t> parse_nonce_count(std::string_view nc);

}  // namespace cppbx::auth
