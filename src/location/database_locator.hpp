// The "database" locator: bindings in the SQL `locations` table (SQLite,
// PostgreSQL, MySQL/MariaDB through storage::Database), shared by every node
// configured with the same database and kept across restarts.
//
// Design decisions:
// - Every store call runs on a BlockingPoolOf<UpdateResult> (its timeout and
//   in-flight bound answer Error / ok=false, never block a SIP thread).
//   Lookups, sweeps and closed connections use the same pool, so one bound
//   covers all the locator's load on the database.
// - update() is one transaction per AoR: read the AoR's rows (locked where
//   the dialect can: FOR UPDATE, or BEGIN IMMEDIATE on SQLite), apply the
//   shared rules (binding_rules.hpp), write only the difference. Within a
//   node, updates of one AoR also run one at a time (a new AoR has no row to
//   lock); MySQL runs them at READ COMMITTED (no gap-lock deadlocks); SQLite
//   writers of this process queue on a mutex and the file is put in WAL
//   mode. A change whose caller was already answered "timed out" is rolled
//   back rather than committed late.
// - The database is opened (and migrated) in start(), or by the first call
//   when it was unreachable then; nothing connects at construction, so
//   `cppbx --check-config` can build the locator.
// - Connection ids only mean something inside this process, and the table is
//   shared: every row carries the node's home_proxy, connection_closed()
//   deletes only this node's rows of that flow (and only for flows this node
//   stored, remembered in memory), and when the database is first opened the
//   rows of this node's connection-oriented flows from an earlier run are
//   deleted and reported offline. UDP bindings survive a restart.
// - The sweeper deletes every expired row (any node's) and reports those it
//   deleted itself, so each expiry is reported once even with several nodes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "location/locator.hpp"

namespace cppbx::location {

struct DatabaseLocatorOptions {
  std::string url;         // database URL (storage/database.hpp)
  std::string home_proxy;  // this node's SIP address, stored with each binding
  uint32_t max_bindings_per_aor = 10;  // 0: unlimited
  std::chrono::milliseconds timeout{2000};
  size_t max_in_flight = 256;
  size_t pool_size = 4;  // database sessions and worker threads
  std::chrono::milliseconds sweep_interval{5000};
};

class DatabaseLocator final : public Locator {
 public:
  DatabaseLocator(boost::asio::io_context& io, DatabaseLocatorOptions options);
  ~DatabaseLocator() override;
  DatabaseLocator(const DatabaseLocator&) = delete;
  DatabaseLocator& operator=(const DatabaseLocator&) = delete;

  std::string_view type() const override { return "database"; }
  void update(UpdateRequest request, std::function<void(UpdateResult)> done) override;
  void lookup(const std::string& aor, std::function<void(LookupResult)> done) override;
  void list(ListRequest request, std::function<void(ListResult)> done) override;
  void remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) override;
  void connection_closed(transport::ConnectionId connection) override;
  void set_observer(std::shared_ptr<LocationObserver> observer) override;
  // Rows in the table (every node's, expired ones not swept yet) as last
  // counted (at open and each sweep) plus this node's changes since.
  size_t binding_count() const override;

  // Opens the database (blocking, once; failures are logged and retried by
  // the next call) and starts the periodic sweeper. Idempotent.
  void start() override;
  void stop() override;
  // One sweep now, on the calling thread (blocking); the number of rows this
  // call deleted. Throws when the database is unreachable.
  size_t sweep_now();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cppbx::location
