// Users in an SQL table (`type = "database"`) on SQLite, PostgreSQL or
// MySQL/MariaDB, read through storage::Database.
//
// Design decisions:
// - The table is the operator's, so nothing is migrated or written; table
//   and column names come from configuration, are checked as identifiers and
//   quoted for the dialect, and the username is always a bound parameter.
// - Every column is read into text, so integer, boolean (PostgreSQL "t"),
//   BIT and text columns all work; enabled is truthy for 1, true, t, yes
//   (case-insensitive). A NULL enabled value means disabled.
// - Up to 16 rows with the name are read (ordered by id_column when set):
//   the first whose realm matches wins, so one table can hold the same
//   username in several realms.
// - Queries run on a BlockingPool (pool_size threads, max_in_flight, timeout)
//   over a pool of as many sessions; the SIP threads never wait on SQL. A
//   database that is down (at start-up or later) answers errors, which the
//   auth module turns into 503; connection attempts are spaced by at least a
//   second, and sessions reconnect when the server is back.
// - A row with neither a password nor a valid HA1 is treated as not found:
//   an empty secret must never authenticate anyone.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "users/blocking_pool.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

struct DatabaseBackendOptions {
  std::string url;
  std::string table_name = "users";
  std::string id_column;  // empty: rows unordered
  std::string username_column = "username";
  std::string password_column = "password";  // empty: HA1 only
  std::string realm_column;
  std::string enabled_column;
  std::string display_name_column;
  std::string ha1_column;  // MD5(username:realm:password), hex
  std::chrono::milliseconds timeout{2000};
  size_t max_in_flight = 256;
  size_t pool_size = 4;
};

class DatabaseBackend final : public UserBackend {
 public:
  // nullptr with `error` when the URL or an identifier is invalid. Tries to
  // connect once; a database that is not reachable yet is not an error here.
  static std::shared_ptr<DatabaseBackend> create(const DatabaseBackendOptions& options,
                                                 std::string& error);
  ~DatabaseBackend() override;

  std::string_view type() const override { return "database"; }
  void lookup(const LookupRequest& request, LookupCallback done) override;

  // The query (without values), for tests and logs.
  const std::string& query() const;
  size_t in_flight() const { return pool_->in_flight(); }

  struct Engine;

 private:
  DatabaseBackend() = default;
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<BlockingPool> pool_;  // after engine_: joined before it goes
};

// Reads url (else the top-level database_url), table_name, id_column,
// username_column, password_column, realm_column, enabled_column,
// display_name_column, ha1_column, timeout_ms, max_in_flight, pool_size.
std::shared_ptr<UserBackend> make_database_backend(const config::UserBackendConfig& cfg,
                                                   config::Diagnostics& diagnostics);

// True for 1, true, t, yes (case-insensitive, surrounding blanks ignored) and
// a single 0x01 byte (a MySQL BIT(1) read as text).
bool truthy(std::string_view value);

}  // namespace cppbx::users
