// The "redis" locator: bindings in Redis, shared by every cppbx node that is
// configured with the same server and key prefix.
//
// Key layout (P = key_prefix, default "cppbx:"; see docs/locator.md):
// - P + "binding:" + <length of aor> + ":" + aor + ":" + binding key
//     a string holding one binding as JSON, with its own expiry (SET ... PXAT
//     its expires_at), so Redis drops each binding on time without any
//     sweeper. The length prefix keeps names unambiguous whatever the AoR's
//     user part contains.
// - P + "aor:" + aor
//     a hash, binding key -> binding name: the per-AoR index. It expires
//     with the AoR's last binding; entries whose binding expired are pruned
//     by the next lookup or update of that AoR.
// - P + "version:" + aor
//     a counter bumped by every write of the AoR (same expiry as the index).
//
// Lookups are one round trip: a Lua script reads the index, GETs the live
// bindings and prunes the dead entries. Updates are atomic per AoR with
// optimistic concurrency: a script reads the bindings and the version, the
// shared rules (binding_rules.hpp) compute the result in C++, and a second
// script writes the difference only if the version is unchanged (else the
// update starts over, a few times at most). So every node applies exactly
// the memory locator's rules.
//
// Offline events: each node remembers in memory the bindings IT stored
// (home_proxy = this node). A sweeper on the io_context finds those whose
// expiry passed, asks Redis whether they are really gone (not refreshed
// through another node or by a REGISTER racing the sweep) and reports the
// gone ones to the observer. A closed TCP connection removes that node's
// bindings over it from Redis and reports them. A node that restarts
// forgets what it stored before, so it reports no offline event for those
// (their data still expires in Redis on time).
//
// Connection ids (TCP flows) only mean something inside the process that
// stored them: each binding records a random mark of the writing process,
// and a binding read by another node, or by this node after a restart,
// comes back with connection 0.
//
// All Redis calls run on a BlockingPoolOf (one connection per worker,
// reconnecting after a failure) with the timeout and in-flight bound; an
// unreachable Redis answers UpdateStatus::Error / ok=false (503 upstream).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "location/locator.hpp"
#include "location/redis_client.hpp"

namespace cppbx::location {

struct RedisLocatorOptions {
  RedisEndpoint endpoint;
  std::chrono::milliseconds timeout{1000};
  size_t max_in_flight = 256;
  size_t pool_size = 4;
  std::string key_prefix = "cppbx:";
  std::string home_proxy;  // this node's SIP address, stored in each binding it writes
  uint32_t max_bindings_per_aor = 10;
  std::chrono::milliseconds sweep_interval{5000};
};

class RedisLocator final : public Locator {
 public:
  RedisLocator(boost::asio::io_context& io, RedisLocatorOptions options);
  ~RedisLocator() override;
  RedisLocator(const RedisLocator&) = delete;
  RedisLocator& operator=(const RedisLocator&) = delete;

  std::string_view type() const override { return "redis"; }
  void update(UpdateRequest request, std::function<void(UpdateResult)> done) override;
  void lookup(const std::string& aor, std::function<void(LookupResult)> done) override;
  void list(ListRequest request, std::function<void(ListResult)> done) override;
  void remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) override;
  void connection_closed(transport::ConnectionId connection) override;
  void set_observer(std::shared_ptr<LocationObserver> observer) override;
  // Bindings this node stored and still remembers (not the whole store:
  // counting Redis would block).
  size_t binding_count() const override;

  // Starts / stops the offline sweeper (no connection is opened before the
  // first call: connections open on demand on the workers).
  void start() override;
  void stop() override;
  // One sweep now; `done` gets how many bindings were reported offline
  // (or -1 when Redis could not be asked). For tests.
  void sweep_now(std::function<void(long)> done);

  // The Redis key names, for tests and tools.
  std::string binding_key_name(const std::string& aor, const std::string& binding_key) const;
  std::string index_key_name(const std::string& aor) const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cppbx::location
