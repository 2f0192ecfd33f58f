// See md5_fallback.hpp for the design. Every public call takes at most two
// shard locks, one after the other, never both at once.
#include "auth/md5_fallback.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

#include "common/random.hpp"

namespace cppbx::auth {
namespace {

// splitmix64 finaliser: spreads every input bit over the output, so the
// unkeyed std::hash values become unpredictable once the seed is mixed in.
uint64_t mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

uint64_t combine(uint64_t state, std::string_view piece) {
  // The length keeps ("ab","c") and ("a","bc") apart.
  state = mix(state ^ std::hash<std::string_view>{}(piece));
  return mix(state ^ piece.size());
}

}  // namespace

std::string_view decision_name(Md5Fallback::Decision decision) {
  switch (decision) {
    case Md5Fallback::Decision::FullOffer: return "full offer";
    case Md5Fallback::Decision::RememberedMd5Only: return "client remembered as MD5-only";
    case Md5Fallback::Decision::ChallengeUnanswered:
      return "client did not answer the previous challenge";
  }
  return "unknown";
}

Md5Fallback::Md5Fallback(Options options, SecondsClock clock)
    : options_(options), clock_(std::move(clock)),
      max_per_shard_(std::max<size_t>(1, options.max_entries / kShards)) {
  auto bytes = random::secure_bytes(sizeof(seed_));
  std::memcpy(&seed_, bytes.data(), sizeof(seed_));
}

std::array<uint64_t, 2> Md5Fallback::keys(const ClientIdentity& client) const {
  uint64_t by_call = combine(combine(mix(seed_ ^ 1), client.address), client.call_id);
  uint64_t by_user = mix(seed_ ^ 2);
  for (std::string_view piece : {client.address, client.from_user, client.method,
                                 client.contact_host}) {
    by_user = combine(by_user, piece);
  }
  by_user = mix(by_user ^ client.contact_port);
  return {by_call, by_user};
}

Md5Fallback::Entry* Md5Fallback::find_locked(Shard& shard, uint64_t key, int64_t now) {
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return nullptr;
  if (it->second.expires_at <= now) {
    shard.recent.erase(it->second.position);
    shard.entries.erase(it);
    return nullptr;
  }
  return &it->second;
}

void Md5Fallback::set(uint64_t key, State state, bool keep_md5_only) {
  Shard& shard = shard_for(key);
  int64_t now = clock_();
  int64_t expires_at = now + options_.lifetime.count();
  std::lock_guard lock(shard.mutex);
  if (Entry* entry = find_locked(shard, key, now)) {
    if (!(keep_md5_only && entry->state == State::Md5Only)) entry->state = state;
    entry->expires_at = expires_at;
    shard.recent.splice(shard.recent.begin(), shard.recent, entry->position);
    return;
  }
  if (shard.entries.size() >= max_per_shard_) {
    shard.entries.erase(shard.recent.back());
    shard.recent.pop_back();
  }
  shard.recent.push_front(key);
  shard.entries.emplace(key, Entry{state, expires_at, shard.recent.begin()});
}

void Md5Fallback::erase_if(uint64_t key, State state) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end() || it->second.state != state) return;
  shard.recent.erase(it->second.position);
  shard.entries.erase(it);
}

Md5Fallback::Decision Md5Fallback::before_challenge(const ClientIdentity& client) {
  bool md5_only = false;
  bool challenged = false;
  int64_t now = clock_();
  for (uint64_t key : keys(client)) {
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    if (Entry* entry = find_locked(shard, key, now)) {
      md5_only |= entry->state == State::Md5Only;
      challenged |= entry->state == State::Challenged;
    }
  }
  if (!md5_only && !challenged) return Decision::FullOffer;
  narrow(client);  // both keys, and renews the lifetime
  return md5_only ? Decision::RememberedMd5Only : Decision::ChallengeUnanswered;
}

void Md5Fallback::challenged(const ClientIdentity& client) {
  for (uint64_t key : keys(client)) set(key, State::Challenged, true);
}

void Md5Fallback::answered(const ClientIdentity& client) {
  for (uint64_t key : keys(client)) erase_if(key, State::Challenged);
}

void Md5Fallback::narrow(const ClientIdentity& client) {
  for (uint64_t key : keys(client)) set(key, State::Md5Only, false);
}

bool Md5Fallback::md5_only(const ClientIdentity& client) const {
  int64_t now = clock_();
  for (uint64_t key : keys(client)) {
    const Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end() && it->second.state == State::Md5Only &&
        it->second.expires_at > now) {
      return true;
    }
  }
  return false;
}

size_t Md5Fallback::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.entries.size();
  }
  return total;
}

}  // namespace cppbx::auth
