// See nonce.hpp. The 16-byte tag of a nonce is AES-128 of its 16 signed bytes
// under a key derived from the secret: one block cipher call (AES-NI) where an
// HMAC-SHA256 took two SHA-256 compressions, ~8% of a registration's CPU.
// A block cipher is a pseudorandom permutation, and a PRP on fixed-length,
// single-block inputs is a secure MAC (forging a tag for a new time|random
// block means predicting AES under an unknown key). HMAC-SHA256, from two
// pre-keyed SHA-256 states (RFC 2104), still derives that key and the
// opaque value at start-up.
#include "auth/nonce.hpp"

#include "common/linear_probing.hpp"
#include "common/random.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace cppbx::auth {
namespace {

constexpr size_t kTimeBytes = 8;
constexpr size_t kRandomBytes = 8;
constexpr size_t kSignedBytes = kTimeBytes + kRandomBytes;
constexpr size_t kMacBytes = 16;
constexpr size_t kNonceBytes = kSignedBytes + kMacBytes;
static_assert(kSignedBytes == 16, "the tag is one AES block over the signed bytes");
constexpr size_t kHmacBlock = 64;  // SHA-256 block size
// A nonce issued slightly "in the future" is tolerated (clock steps between
// nodes sharing the secret); beyond that it is forged or from a broken clock.
constexpr int64_t kFutureSkewSeconds = 5;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

const EVP_MD* sha256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL lacks SHA2-256");
  return md;
}

EVP_MD_CTX* thread_work_context() {
  thread_local MdCtx ctx(EVP_MD_CTX_new());
  return ctx.get();
}

}  // namespace

int64_t system_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string base64url_encode(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<size_t> base64url_decode(std::string_view text, uint8_t* out, size_t capacity) {
  if (text.size() % 4 == 1) return std::nullopt;  // no byte count encodes to this
  uint32_t buffer = 0;
  int bits = 0;
  size_t written = 0;
  for (char c : text) {
    int value = base64url_value(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (written == capacity) return std::nullopt;
      out[written++] = static_cast<uint8_t>((buffer >> bits) & 0xff);
    }
  }
  // The leftover bits of the last character must be zero: otherwise four
  // spellings of one nonce would all verify.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return written;
}

struct NonceIssuer::Keyed {
  MdCtx inner{EVP_MD_CTX_new()};
  MdCtx outer{EVP_MD_CTX_new()};
  std::array<uint8_t, 16> tag_key{};
  // Identifies this key for the per-thread cipher contexts (an address
  // could be reused by a later issuer with another key).
  uint64_t id = 0;
};

namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

std::atomic<uint64_t> next_issuer_id{1};

}  // namespace

NonceIssuer::NonceIssuer(std::string_view secret, std::chrono::seconds lifetime,
                         SecondsClock clock)
    : keyed_(std::make_unique<Keyed>()), lifetime_(lifetime), clock_(std::move(clock)) {
  std::array<uint8_t, kHmacBlock> key{};
  if (secret.empty()) {
    if (RAND_bytes(key.data(), 32) != 1) throw std::runtime_error("RAND_bytes failed");
  } else if (secret.size() > kHmacBlock) {
    unsigned int length = 0;
    EVP_Digest(secret.data(), secret.size(), key.data(), &length, sha256(), nullptr);
  } else {
    std::memcpy(key.data(), secret.data(), secret.size());
  }
  std::array<uint8_t, kHmacBlock> ipad{}, opad{};
  for (size_t i = 0; i < kHmacBlock; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  bool ok = keyed_->inner && keyed_->outer &&
            EVP_DigestInit_ex(keyed_->inner.get(), sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(keyed_->inner.get(), ipad.data(), ipad.size()) == 1 &&
            EVP_DigestInit_ex(keyed_->outer.get(), sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(keyed_->outer.get(), opad.data(), opad.size()) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  if (!ok) throw std::runtime_error("cannot key the nonce HMAC");
  static constexpr uint8_t kTagKeyLabel[] = {'n', 'o', 'n', 'c', 'e', ' ', 't', 'a', 'g'};
  auto tag_key = mac(kTagKeyLabel, sizeof kTagKeyLabel);
  std::memcpy(keyed_->tag_key.data(), tag_key.data(), keyed_->tag_key.size());
  OPENSSL_cleanse(tag_key.data(), tag_key.size());
  keyed_->id = next_issuer_id.fetch_add(1);
  static constexpr uint8_t kOpaqueLabel[] = {'o', 'p', 'a', 'q', 'u', 'e'};
  auto opaque_mac = mac(kOpaqueLabel, sizeof kOpaqueLabel);
  opaque_ = base64url_encode(opaque_mac.data(), 16);
}

NonceIssuer::~NonceIssuer() = default;

std::array<uint8_t, 32> NonceIssuer::mac(const uint8_t* data, size_t size) const {
  std::array<uint8_t, 32> inner_digest{}, result{};
  unsigned int length = 0;
  EVP_MD_CTX* work = thread_work_context();
  bool ok = work != nullptr && EVP_MD_CTX_copy_ex(work, keyed_->inner.get()) == 1 &&
            EVP_DigestUpdate(work, data, size) == 1 &&
            EVP_DigestFinal_ex(work, inner_digest.data(), &length) == 1 &&
            EVP_MD_CTX_copy_ex(work, keyed_->outer.get()) == 1 &&
            EVP_DigestUpdate(work, inner_digest.data(), inner_digest.size()) == 1 &&
            EVP_DigestFinal_ex(work, result.data(), &length) == 1;
  // On failure: a fresh random value, so that nothing ever verifies (fail closed).
  if (!ok) RAND_bytes(result.data(), static_cast<int>(result.size()));
  return result;
}

std::array<uint8_t, 16> NonceIssuer::tag(const uint8_t* block) const {
  // One keyed context per thread, re-keyed when another issuer used it last.
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> context(EVP_CIPHER_CTX_new());
  thread_local uint64_t keyed_for = 0;
  std::array<uint8_t, 16> result{};
  bool ok = context != nullptr;
  if (ok && keyed_for != keyed_->id) {
    ok = EVP_EncryptInit_ex(context.get(), EVP_aes_128_ecb(), nullptr, keyed_->tag_key.data(), nullptr) == 1 &&
         EVP_CIPHER_CTX_set_padding(context.get(), 0) == 1;
    keyed_for = ok ? keyed_->id : 0;
  }
  int written = 0;
  ok = ok && EVP_EncryptUpdate(context.get(), result.data(), &written, block, 16) == 1 && written == 16;
  // On failure: a fresh random value, so that nothing ever verifies (fail closed).
  if (!ok) RAND_bytes(result.data(), static_cast<int>(result.size()));
  return result;
}

std::string NonceIssuer::issue() const {
  std::array<uint8_t, kNonceBytes> raw{};
  uint64_t issued_at = static_cast<uint64_t>(clock_());
  for (size_t i = 0; i < kTimeBytes; ++i) {
    raw[i] = static_cast<uint8_t>(issued_at >> (8 * (kTimeBytes - 1 - i)));
  }
  random::fill_secure_buffered(raw.data() + kTimeBytes, kRandomBytes);
  auto signature = tag(raw.data());
  std::memcpy(raw.data() + kSignedBytes, signature.data(), kMacBytes);
  return base64url_encode(raw.data(), raw.size());
}

NonceCheck NonceIssuer::check(std::string_view nonce) const {
  NonceCheck result;
  std::array<uint8_t, kNonceBytes + 1> raw{};
  auto size = base64url_decode(nonce, raw.data(), raw.size());
  if (!size || *size != kNonceBytes) return result;
  auto expected = tag(raw.data());
  if (CRYPTO_memcmp(expected.data(), raw.data() + kSignedBytes, kMacBytes) != 0) return result;

  uint64_t issued_at = 0;
  for (size_t i = 0; i < kTimeBytes; ++i) issued_at = (issued_at << 8) | raw[i];
  int64_t now = clock_();
  int64_t issued = static_cast<int64_t>(issued_at);
  if (issued > now + kFutureSkewSeconds) return result;
  std::copy_n(raw.begin() + kSignedBytes, kMacBytes, result.key.begin());
  result.expires_at = issued + lifetime_.count();
  result.status = now > result.expires_at ? NonceStatus::Stale : NonceStatus::Valid;
  return result;
}

namespace {

constexpr size_t kMinSlots = 16;

// Nonce keys are MAC output, already uniformly random: their first bytes are
// the hash. (Shards are picked by the last byte.)
size_t slot_index(const NonceKey& key, size_t mask) {
  uint64_t value = 0;
  std::memcpy(&value, key.data(), sizeof value);
  return static_cast<size_t>(value) & mask;
}

// Room for `entries` at most half full.
size_t slots_for(size_t entries) {
  size_t slots = kMinSlots;
  while (slots < entries * 2) slots *= 2;
  return slots;
}

}  // namespace

NonceCounter::NonceCounter(size_t max_entries, SecondsClock clock)
    : max_per_shard_(std::max<size_t>(1, max_entries / kShards)), clock_(std::move(clock)) {}

NonceCounter::Slot* NonceCounter::find(Shard& shard, const NonceKey& key) {
  if (shard.slots.empty()) return nullptr;
  const size_t mask = shard.slots.size() - 1;
  for (size_t i = slot_index(key, mask);; i = (i + 1) & mask) {
    Slot& slot = shard.slots[i];
    if (slot.expires_at == kEmpty) return nullptr;  // never full: an empty slot ends every probe
    if (slot.key == key) return &slot;
  }
}

void NonceCounter::place(std::vector<Slot>& slots, const Slot& entry) {
  const size_t mask = slots.size() - 1;
  size_t i = slot_index(entry.key, mask);
  while (slots[i].expires_at != kEmpty) i = (i + 1) & mask;
  slots[i] = entry;
}

// No tombstones: see common/linear_probing.hpp.
void NonceCounter::erase(Shard& shard, Slot* slot) {
  std::vector<Slot>& slots = shard.slots;
  const size_t mask = slots.size() - 1;
  erase_by_backward_shift(
      static_cast<size_t>(slot - slots.data()), mask,
      [&](size_t i) { return slots[i].expires_at == kEmpty; },
      [&](size_t i) { return slot_index(slots[i].key, mask); },
      [&](size_t from, size_t to) { slots[to] = slots[from]; }, [&](size_t i) { slots[i] = Slot{}; });
  --shard.count;
}

void NonceCounter::resize(Shard& shard, size_t size) {
  std::vector<Slot> slots(size);
  for (const Slot& slot : shard.slots) {
    if (slot.expires_at != kEmpty) place(slots, slot);
  }
  shard.slots.swap(slots);
}

// Drops the entries expired at `now` from the front of the FIFO (`all`: from
// anywhere in it, when the shard is full and must make room).
void NonceCounter::drop_expired(Shard& shard, int64_t now, bool all) {
  auto expired = [now](const Expiry& e) { return e.expires_at < now; };
  auto drop = [&](const Expiry& e) {
    if (Slot* slot = find(shard, e.key); slot != nullptr && slot->expires_at == e.expires_at) erase(shard, slot);
  };
  while (!shard.expiries.empty() && expired(shard.expiries.front())) {
    drop(shard.expiries.front());
    shard.expiries.pop_front();
  }
  if (all) {
    std::erase_if(shard.expiries, [&](const Expiry& e) {
      if (!expired(e)) return false;
      drop(e);
      return true;
    });
  }
  // Give memory back after a burst: shrink once a table is an eighth full.
  if (shard.slots.size() > kMinSlots && shard.count * 8 < shard.slots.size()) {
    resize(shard, slots_for(shard.count + 1));
  }
}

CountResult NonceCounter::record(const NonceKey& key, int64_t expires_at, uint64_t nc) {
  Shard& shard = shards_[key[15] % kShards];
  int64_t now = clock_();
  std::lock_guard lock(shard.mutex);
  drop_expired(shard, now, false);
  if (Slot* found = find(shard, key)) {
    if (nc <= found->highest_nc) return CountResult::Replay;
    found->highest_nc = nc;
    return CountResult::Accepted;
  }
  if (shard.count >= max_per_shard_) {
    drop_expired(shard, now, true);
    if (shard.count >= max_per_shard_) return CountResult::Full;
  }
  if ((shard.count + 1) * 2 > shard.slots.size()) resize(shard, slots_for(shard.count + 1));
  place(shard.slots, Slot{key, nc, expires_at});
  shard.expiries.push_back({expires_at, key});
  ++shard.count;
  return CountResult::Accepted;
}

size_t NonceCounter::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.count;
  }
  return total;
}

}  // namespace cppbx::auth
