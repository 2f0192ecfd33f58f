// Digest hashing (RFC 3261 section 22.4, RFC 7616 section 3.4, RFC 8760).
//
// Pure functions over OpenSSL EVP, no I/O and no state besides the message
// digest objects, which are fetched once per process (an implicit fetch on
// every call costs more than the hash itself). Inputs are fed to the hash in
// pieces separated by ':' instead of being concatenated first, and the hex
// digests live in a fixed buffer, so checking a response allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
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

// A lowercase hex digest (64 characters at most) held by value: three of
// them per authenticated request, and a heap string each showed up among
// the registrar's top allocations. Empty when hashing failed.
class HexDigest {
 public:
  static constexpr size_t kCapacity = 64;
  HexDigest() = default;
  HexDigest(const unsigned char* bytes, size_t count);  // at most kCapacity / 2 bytes
  std::string_view view() const { return {text_.data(), size_}; }
  operator std::string_view() const { return view(); }  // NOLINT: a digest is read as text
  operator std::string() const { return std::string(view()); }  // NOLINT
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  char operator[](size_t i) const { return text_[i]; }
  friend bool operator==(const HexDigest& a, const HexDigest& b) { return a.view() == b.view(); }
  friend bool operator==(const HexDigest& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const HexDigest& a, const char* b) { return a.view() == std::string_view(b); }
  friend std::ostream& operator<<(std::ostream& out, const HexDigest& d) { return out << d.view(); }

 private:
  std::array<char, kCapacity> text_{};
  uint8_t size_ = 0;
};

// Lowercase hex of H(part1 ":" part2 ":" ...).
HexDigest hash_joined(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts);

// HA1 = H(username ":" realm ":" password).
HexDigest compute_ha1(DigestAlgorithm algorithm, std::string_view username,
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
HexDigest compute_response(DigestAlgorithm algorithm, const ResponseInputs& inputs);

// Compares two hex digests without leaking where they differ; the case of the
// hex letters is ignored (some clients send upper case).
bool hex_digests_equal(std::string_view expected_lowercase, std::string_view received);

}  // namespace cppbx::auth
