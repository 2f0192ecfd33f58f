// Digest hashing (RFC 3261 section 22.4, RFC 7616 section 3.4, RFC 8760).
//
// Pure functions over OpenSSL EVP, no I/O and no state besides the message
// digest objects, which are fetched once per process (an implicit fetch on
// every call costs more than the hash itself). Inputs are fed to the hash in
// pieces separated by ':' instead of being concatenated first, so computing a
// response allocates nothing but the returned hex string.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cppbx::auth {

enum class DigestAlgorithm { Md5, Sha256, Sha512_256 };

// "MD5", "SHA-256", "SHA-512-256" (case-insensitive). The "-sess" variants are
// not supported: they need per-session state we do not keep.
std::optional<DigestAlgorithm> parse_algorithm(std::string_view name);
std::string_view algorithm_name(DigestAlgorithm algorithm);
// Length of the lowercase hex digest: 32 for MD5, 64 for the SHA-2 ones.
size_t hex_digest_length(DigestAlgorithm algorithm);

// Lowercase hex of H(part1 ":" part2 ":" ...).
std::string hash_joined(DigestAlgorithm algorithm,
                        std::initializer_list<std::string_view> parts);

// HA1 = H(username ":" realm ":" password).
std::string compute_ha1(DigestAlgorithm algorithm, std::string_view username,
                        std::string_view realm, std::string_view password);

// The value the client must send as `response`. With qop "auth":
// H(HA1:nonce:nc:cnonce:qop:H(method:uri)); without qop (RFC 2069):
// H(HA1:nonce:H(method:uri)).
struct ResponseInputs {
  std::string_view ha1;  // lowercase hex
  std::string_view nonce;
  std::string_view method;
  std::string_view uri;
  std::string_view qop;  // "" or "auth"
  std::string_view nc;
  std::string_view cnonce;
};
std::string compute_response(DigestAlgorithm algorithm, const ResponseInputs& inputs);

// Compares two hex digests without leaking where they differ; the case of the
// hex letters is ignored (some clients send upper case).
bool hex_digests_equal(std::string_view expected_lowercase, std::string_view received);

}  // namespace cppbx::auth
