// See digest.hpp.
//
// MD5 and SHA-256, the digests of nearly every request, use OpenSSL's
// low-level functions on a context on the stack. They are deprecated in
// OpenSSL 3 but kept and documented there; EVP_DigestInit_ex, by contrast,
// creates and frees a provider context on every call in OpenSSL 3.0, which
// cost more instructions than the MD5 compression itself at these input
// sizes. SHA-512/256 has no low-level entry point and goes through EVP: its
// EVP_MD is fetched once and never freed (it lives as long as the process),
// and each thread keeps one reusable EVP_MD_CTX.
//
// OPENSSL_SUPPRESS_DEPRECATED must precede every OpenSSL include.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "auth/digest.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

namespace cppbx::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

const EVP_MD* fetch_or_throw(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) throw std::runtime_error(std::string("OpenSSL lacks digest ") + name);
  return md;
}

const EVP_MD* sha512_256() {
  static const EVP_MD* md = fetch_or_throw("SHA2-512/256");
  return md;
}

struct ContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* thread_context() {
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

// Feeds `parts` joined by ':' to `update`.
template <typename Update>
void for_each_joined(std::initializer_list<std::string_view> parts, Update update) {
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) update(":", 1);
    update(part.data(), part.size());
    first = false;
  }
}

// One low-level digest (MD5_*, SHA256_*: the same shape of API). The context
// holds the input's last partial block, which may be part of a password:
// wiped before it goes out of scope.
template <typename Context, size_t kLength, int (*init)(Context*),
          int (*update)(Context*, const void*, size_t), int (*finish)(unsigned char*, Context*)>
HexDigest low_level_digest(std::initializer_list<std::string_view> parts) {
  Context ctx;
  std::array<unsigned char, kLength> digest{};
  init(&ctx);
  for_each_joined(parts, [&](const void* data, size_t size) { update(&ctx, data, size); });
  finish(digest.data(), &ctx);
  OPENSSL_cleanse(&ctx, sizeof ctx);
  return HexDigest(digest.data(), digest.size());
}

constexpr auto md5_of = low_level_digest<MD5_CTX, MD5_DIGEST_LENGTH, MD5_Init, MD5_Update, MD5_Final>;
constexpr auto sha256_of =
    low_level_digest<SHA256_CTX, SHA256_DIGEST_LENGTH, SHA256_Init, SHA256_Update, SHA256_Final>;

HexDigest sha512_256_of(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = thread_context();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, sha512_256(), nullptr) == 1;
  for_each_joined(parts, [&](const void* data, size_t size) {
    ok = ok && EVP_DigestUpdate(ctx, data, size) == 1;
  });
  ok = ok && EVP_DigestFinal_ex(ctx, digest.data(), &length) == 1;
  // A failing EVP call means a broken OpenSSL install; an empty digest then
  // never matches anything, which fails closed.
  if (!ok) return {};
  return HexDigest(digest.data(), length);
}

// The digest of `parts` joined by ':'.
HexDigest hash_parts(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts) {
  switch (algorithm) {
    case DigestAlgorithm::Md5: return md5_of(parts);
    case DigestAlgorithm::Sha256: return sha256_of(parts);
    case DigestAlgorithm::Sha512_256: return sha512_256_of(parts);
  }
  return {};
}

}  // namespace

HexDigest::HexDigest(const unsigned char* bytes, size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  count = std::min(count, kCapacity / 2);
  for (size_t i = 0; i < count; ++i) {
    text_[2 * i] = kDigits[bytes[i] >> 4];
    text_[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  size_ = static_cast<uint8_t>(count * 2);
}

std::optional<DigestAlgorithm> parse_algorithm(std::string_view name) {
  if (iequals(name, "MD5")) return DigestAlgorithm::Md5;
  if (iequals(name, "SHA-256")) return DigestAlgorithm::Sha256;
  if (iequals(name, "SHA-512-256")) return DigestAlgorithm::Sha512_256;
  return std::nullopt;
}

std::string_view algorithm_name(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::Md5: return "MD5";
    case DigestAlgorithm::Sha256: return "SHA-256";
    case DigestAlgorithm::Sha512_256: return "SHA-512-256";
  }
  return "SHA-256";
}

size_t hex_digest_length(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::Md5 ? 32 : 64;
}

HexDigest hash_joined(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts) {
  // The parts are joined on the stack first: one update costs less than
  // the dozen a response digest would otherwise make.
  std::array<char, 1024> joined;
  size_t length = 0;
  bool fits = true;
  bool first = true;
  for (std::string_view part : parts) {
    if (part.size() + (first ? 0 : 1) > joined.size() - length) {
      fits = false;  // unusually long input: hashed part by part
      break;
    }
    if (!first) joined[length++] = ':';
    std::memcpy(joined.data() + length, part.data(), part.size());
    length += part.size();
    first = false;
  }
  HexDigest digest = fits ? hash_parts(algorithm, {std::string_view(joined.data(), length)})
                          : hash_parts(algorithm, parts);
  OPENSSL_cleanse(joined.data(), length);  // it held a password or an HA1
  return digest;
}

HexDigest compute_ha1(DigestAlgorithm algorithm, std::string_view username,
                      std::string_view realm, std::string_view password) {
  return hash_joined(algorithm, {username, realm, password});
}

HexDigest compute_response(DigestAlgorithm algorithm, const ResponseInputs& in) {
  HexDigest ha2 = hash_joined(algorithm, {in.method, in.uri});
  if (in.qop.empty()) return hash_joined(algorithm, {in.ha1, in.nonce, ha2});
  return hash_joined(algorithm, {in.ha1, in.nonce, in.nc, in.cnonce, in.qop, ha2});
}

bool hex_digests_equal(std::string_view expected_lowercase, std::string_view received) {
  std::array<char, 2 * EVP_MAX_MD_SIZE> lowered{};
  if (expected_lowercase.empty() || received.size() != expected_lowercase.size() ||
      received.size() > lowered.size()) {
    return false;
  }
  for (size_t i = 0; i < received.size(); ++i) {
    char c = received[i];
    lowered[i] = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return CRYPTO_memcmp(lowered.data(), expected_lowercase.data(), received.size()) == 0;
}

}  // namespace cppbx::auth
