// Adaptive MD5 fallback: remembers clients that could not answer a digest
// offer containing SHA-256 (or another non-MD5 algorithm), so that their next
// challenges offer MD5 alone.
//
// A client is known by two keys, both bound to its source address so that no
// one elsewhere can narrow someone else's offer:
//   - source address + Call-ID (the same registration or dialog), and
//   - source address + From user + method + the host:port of its Contact (a
//     client that gives up and starts again with a new Call-ID). The Contact
//     address tells devices apart that share one public address and one
//     account (phones behind a NAT, a probe that never answers): without it
//     one of them would cost the others SHA-256. It is where the client
//     listens, so it survives a restart, unlike the source port.
// Life cycle of a key: a full offer sent to a request without credentials
// leaves it Challenged; credentials that use an offered algorithm erase that
// (the client could answer); a request that comes back without credentials
// while Challenged, or credentials with an algorithm we cannot use, make it
// Md5Only for `lifetime` (renewed on each use).
//
// Decisions:
// - Keys are 64-bit hashes mixed with a random per-process seed, not the
//   strings: the table costs the same whatever the Call-ID length, and a
//   forged collision needs the seed. A collision only ever narrows an offer
//   to MD5, which the default configuration offers to everyone anyway.
// - Bounded memory: sharded, each shard an LRU list with its own cap and a
//   short mutex (no I/O, no allocation beyond the node). Under a flood of
//   fresh clients the oldest entries leave first; a client that loses its
//   entry is simply narrowed again after one more unanswered challenge.
// - Nothing here looks at users: the decision is made before any lookup.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "auth/nonce.hpp"

namespace cppbx::auth {

// What identifies a client, as views into the request.
struct ClientIdentity {
  std::string_view address;  // source IP, without port (ports change behind NAT)
  std::string_view call_id;
  std::string_view from_user;
  std::string_view method;
  std::string_view contact_host;  // of the first Contact; empty when none
  uint16_t contact_port = 0;
};

class Md5Fallback {
 public:
  struct Options {
    size_t max_entries = 65'536;
    std::chrono::seconds lifetime{3600};
  };
  enum class Decision {
    FullOffer,
    RememberedMd5Only,     // narrowed earlier and still remembered
    ChallengeUnanswered,   // came back without answering our last full offer
  };

  explicit Md5Fallback(Options options, SecondsClock clock = system_seconds);
  Md5Fallback(const Md5Fallback&) = delete;
  Md5Fallback& operator=(const Md5Fallback&) = delete;

  // A request without credentials for our realm is about to be challenged:
  // should it get MD5 alone? ChallengeUnanswered also remembers the client.
  Decision before_challenge(const ClientIdentity& client);
  // A full offer (with a non-MD5 algorithm) was sent to this client.
  void challenged(const ClientIdentity& client);
  // The client answered with an algorithm we offered: it coped.
  void answered(const ClientIdentity& client);
  // The client answered with an algorithm we cannot use: MD5 from now on.
  void narrow(const ClientIdentity& client);
  // Read-only check (e.g. for a stale re-challenge).
  bool md5_only(const ClientIdentity& client) const;

  size_t size() const;

 private:
  enum class State : uint8_t { Challenged, Md5Only };
  struct Entry {
    State state;
    int64_t expires_at;
    std::list<uint64_t>::iterator position;  // in Shard::recent, front = newest
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<uint64_t, Entry> entries;
    std::list<uint64_t> recent;
  };
  static constexpr size_t kShards = 16;

  std::array<uint64_t, 2> keys(const ClientIdentity& client) const;
  Shard& shard_for(uint64_t key) { return shards_[key % kShards]; }
  const Shard& shard_for(uint64_t key) const { return shards_[key % kShards]; }
  // nullptr when absent or expired (an expired entry is removed).
  Entry* find_locked(Shard& shard, uint64_t key, int64_t now);
  void set(uint64_t key, State state, bool keep_md5_only);
  void erase_if(uint64_t key, State state);

  Options options_;
  SecondsClock clock_;
  size_t max_per_shard_;
  uint64_t seed_;
  std::array<Shard, kShards> shards_;
};

std::string_view decision_name(Md5Fallback::Decision decision);

}  // namespace cppbx::auth
