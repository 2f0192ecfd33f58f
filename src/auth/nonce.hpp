// Stateless nonces and nonce-count replay protection (RFC 7616 3.3 and 5.4).
//
// A nonce carries its own issue time and proof of origin:
//   base64url( issued_at(8, big endian) | random(8) | AES-128(K, first 16) )
// with K derived from the secret (see nonce.cpp for why a block cipher)
// so the server keeps nothing per challenge: any node that knows the secret can
// check a nonce, and an attacker flooding REGISTERs costs us no memory.
//
// The only state is the highest nonce-count seen per nonce (NonceCounter),
// recorded after a successful digest check only (otherwise anyone could burn a
// victim's nonce with a forged nc=ffffffff). Entries leave with their nonce's
// lifetime; the table has a hard size cap. When full, a nonce that is not
// tracked yet is reported Full and the caller re-challenges (stale=true): that
// degrades to more round trips under attack, never to accepting a replay.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cppbx::auth {

// Seconds since the Unix epoch. Injected so that tests control time.
using SecondsClock = std::function<int64_t()>;
int64_t system_seconds();

// The MAC part of a nonce identifies it uniquely (the other fields are inputs
// to it), and is a fixed 16-byte key that needs no allocation.
using NonceKey = std::array<uint8_t, 16>;

enum class NonceStatus { Valid, Stale, Invalid };

struct NonceCheck {
  NonceStatus status = NonceStatus::Invalid;
  int64_t expires_at = 0;  // issue time + lifetime
  NonceKey key{};
};

class NonceIssuer {
 public:
  // An empty secret is replaced by a random one (nonces then do not survive a
  // restart: clients simply get a new challenge).
  NonceIssuer(std::string_view secret, std::chrono::seconds lifetime,
              SecondsClock clock = system_seconds);
  ~NonceIssuer();
  NonceIssuer(const NonceIssuer&) = delete;
  NonceIssuer& operator=(const NonceIssuer&) = delete;

  std::string issue() const;
  NonceCheck check(std::string_view nonce) const;
  // A value derived from the secret, sent as `opaque` and expected back.
  const std::string& opaque() const { return opaque_; }
  std::chrono::seconds lifetime() const { return lifetime_; }
  int64_t now() const { return clock_(); }

 private:
  struct Keyed;  // pre-keyed HMAC state
  std::unique_ptr<Keyed> keyed_;
  std::chrono::seconds lifetime_;
  SecondsClock clock_;
  std::string opaque_;
  std::array<uint8_t, 32> mac(const uint8_t* data, size_t size) const;
  std::array<uint8_t, 16> tag(const uint8_t* block) const;
};

enum class CountResult { Accepted, Replay, Full };

// Thread-safe: sharded by key, each shard behind its own short mutex (no I/O
// is ever done while holding it).
class NonceCounter {
 public:
  // `nc` for a request without qop (RFC 2069 style): the nonce becomes
  // single-use, any later use of it is a replay.
  static constexpr uint64_t kSingleUse = UINT64_MAX;

  // `max_entries` is split evenly over the shards, each capped on its own.
  explicit NonceCounter(size_t max_entries = 1'000'000, SecondsClock clock = system_seconds);
  // Accepted when `nc` is higher than every count seen for this nonce.
  CountResult record(const NonceKey& key, int64_t expires_at, uint64_t nc);
  size_t size() const;

 private:
  // An open-addressed table per shard (linear probing, at most half full):
  // a look-up reads one or two adjacent slots instead of a bucket and a
  // node, and recording a new nonce allocates nothing. Every nonce lives
  // equally long and is recorded soon after it is issued, so entries expire
  // in about the order they were recorded: a FIFO of expiry times lets each
  // record() drop the expired ones without scanning the table.
  static constexpr int64_t kEmpty = INT64_MIN;  // no real expiry is this
  struct Slot {
    NonceKey key{};
    uint64_t highest_nc = 0;
    int64_t expires_at = kEmpty;
  };
  struct Expiry {
    int64_t expires_at;
    NonceKey key;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::vector<Slot> slots;     // power-of-two size, or empty
    std::deque<Expiry> expiries;  // one per entry, in recording order
    size_t count = 0;
  };
  static constexpr size_t kShards = 16;
  static Slot* find(Shard& shard, const NonceKey& key);
  static void place(std::vector<Slot>& slots, const Slot& entry);
  static void erase(Shard& shard, Slot* slot);
  static void resize(Shard& shard, size_t slots);
  static void drop_expired(Shard& shard, int64_t now, bool all);
  std::array<Shard, kShards> shards_;
  size_t max_per_shard_;
  SecondsClock clock_;
};

// RFC 4648 section 5 without padding.
std::string base64url_encode(const uint8_t* data, size_t size);
// Decodes into `out` (room for `capacity` bytes); nullopt on characters
// outside the alphabet, an impossible length or too little room.
std::optional<size_t> base64url_decode(std::string_view text, uint8_t* out, size_t capacity);

}  // namespace cppbx::auth
