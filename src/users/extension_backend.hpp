// Users from the PBX's own `extensions` table (`type = "extension"`), the one
// `cppbx extension ...` manages.
//
// Answers come from a bounded LRU cache (10,000 entries by default) of hits
// and misses, each kept for `ttl` seconds, so a REGISTER storm or a scanner
// trying random names costs at most one query per name per ttl. A miss in the
// cache goes to SQL on a BlockingPool worker (never on a SIP thread), bounded
// by `timeout_ms` and `max_in_flight`; beyond either the lookup is an error
// (503 upstream).
//
// Staleness: a change made through an ExtensionStore in this process (the
// future console, tests) invalidates the entry at once through the
// process-wide ExtensionChanges hub. A change made by another process (the
// CLI while the server runs) is seen when the entry's ttl runs out. A query
// that started before an invalidation never writes its older answer into the
// cache afterwards (generation counter).
//
// The database is opened on the first lookup, not when the configuration is
// read, so --check-config creates no file and a database that is down at
// start-up only costs 503s until it is back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "config/config.hpp"
#include "storage/extension_store.hpp"
#include "users/blocking_pool.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

// Time-limited LRU of lookup answers: a user (hit) or nullopt (miss).
class ExtensionCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Answer = std::optional<SipUser>;

  ExtensionCache(size_t capacity, std::chrono::steady_clock::duration ttl, Clock clock);

  // nullopt when nothing fresh is cached for `name`; otherwise the answer.
  std::optional<Answer> get(const std::string& name);
  // Taken before a query; put() ignores answers older than an invalidation.
  uint64_t generation() const;
  void put(const std::string& name, Answer answer, uint64_t generation_at_query);
  void invalidate(const std::string& name);
  void clear();
  size_t size() const;

 private:
  struct Entry {
    std::string name;
    Answer answer;
    std::chrono::steady_clock::time_point expires;
  };
  using Order = std::list<Entry>;  // most recently used first

  size_t capacity_;
  std::chrono::steady_clock::duration ttl_;
  Clock clock_;
  mutable std::mutex mutex_;
  Order order_;
  std::unordered_map<std::string, Order::iterator> index_;
  uint64_t generation_ = 0;
};

class ExtensionBackend final : public UserBackend {
 public:
  static constexpr size_t kDefaultCacheCapacity = 10000;

  struct Options {
    std::string database_url;
    std::chrono::seconds ttl{30};  // 0: no caching
    size_t cache_capacity = kDefaultCacheCapacity;
    std::chrono::milliseconds timeout{2000};
    size_t max_in_flight = 256;
    size_t threads = 2;
    ExtensionCache::Clock clock;                  // default: steady_clock::now
    storage::ExtensionChanges* changes = nullptr;  // default: process-wide hub
  };

  explicit ExtensionBackend(Options options);
  ~ExtensionBackend() override;
  ExtensionBackend(const ExtensionBackend&) = delete;
  ExtensionBackend& operator=(const ExtensionBackend&) = delete;

  std::string_view type() const override { return "extension"; }
  // Inline from the cache, else later from a worker.
  void lookup(const LookupRequest& request, LookupCallback done) override;
  // SIGHUP: forget every cached answer.
  void reload() override;
  size_t cached_entries() const { return cache_.size(); }

 private:
  LookupResult query(const std::string& name);
  storage::ExtensionStore* store(std::string& error);

  Options options_;
  ExtensionCache cache_;
  std::unique_ptr<storage::ExtensionChanges::Subscription> subscription_;
  std::mutex open_mutex_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ExtensionStore> store_;
  bool open_failure_logged_ = false;
  // Last: destroyed first, so no worker still runs while the members above go.
  BlockingPool pool_;
};

// Fields: database_url (default: the top-level database_url), ttl (seconds,
// 0..86400, default 30), timeout_ms (1..60000, default 2000), max_in_flight
// (1..100000, default 256).
std::shared_ptr<UserBackend> make_extension_backend(const config::UserBackendConfig& cfg,
                                                    config::Diagnostics& diagnostics);

}  // namespace cppbx::users
