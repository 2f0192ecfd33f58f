// A string-keyed map split into shards, each behind its own mutex, so that
// I/O threads handling unrelated transactions rarely contend. Look-ups take a
// string_view (heterogeneous look-up), so a key composed in a reused
// per-thread buffer is looked up without allocating.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cppbx::transaction {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

template <typename Value>
class ShardedMap {
 public:
  // Value is a smart pointer; a null Value means "not found".
  Value find(std::string_view key) const {
    // Usually empty (most transactions are answered before they would be
    // entered): then there is no key to hash and no lock to take.
    if (size() == 0) return Value{};
    const Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.map.find(key);
    return it == shard.map.end() ? Value{} : it->second;
  }

  // Inserts unless the key exists; returns the value now stored under key.
  std::pair<Value, bool> insert(std::string_view key, Value value) {
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.map.find(key);
    if (it != shard.map.end()) return {it->second, false};
    shard.map.emplace(std::string(key), value);
    size_.fetch_add(1, std::memory_order_relaxed);
    return {std::move(value), true};
  }

  // Erases the entry only when it still holds `expected` (a newer entry with
  // the same key is left alone).
  bool erase(std::string_view key, const Value& expected) {
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.map.find(key);
    if (it == shard.map.end() || it->second != expected) return false;
    shard.map.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  size_t size() const { return size_.load(std::memory_order_relaxed); }

  // Copies every value out (for shutdown and teardown, not the hot path).
  std::vector<Value> values() const {
    std::vector<Value> out;
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      for (const auto& [key, value] : shard.map) out.push_back(value);
    }
    return out;
  }

  void clear() {
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      size_.fetch_sub(shard.map.size(), std::memory_order_relaxed);
      shard.map.clear();
    }
  }

 private:
  static constexpr size_t kShards = 32;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Value, StringHash, std::equal_to<>> map;
  };
  Shard& shard_for(std::string_view key) { return shards_[StringHash{}(key) % kShards]; }
  const Shard& shard_for(std::string_view key) const { return shards_[StringHash{}(key) % kShards]; }

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> size_{0};
};

}  // namespace cppbx::transaction
