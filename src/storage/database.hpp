// The SQL database behind `database_url`, with versioned schema migrations.
//
// SQLite ("sqlite://path", "sqlite:///abs/path", "sqlite::memory:"),
// PostgreSQL ("postgres://user:pass@host:port/db") and MySQL/MariaDB
// ("mysql://...") through SOCI; common/database_url.hpp reads the URL.
// Migrations are a list in code, each applied once and recorded in
// `schema_migrations` (version, name, applied_at), so opening the same
// database again is a no-op; on SQLite and PostgreSQL a migration is one
// transaction, on MySQL DDL commits implicitly (see Migration).
//
// Sessions come from a small soci::connection_pool (Options::pool_size; an
// in-memory SQLite is always one session, since each connection would be a
// separate database). A soci::session is not thread-safe, so with_session()
// leases one for the duration of the work; callers may be any threads, e.g.
// BlockingPool workers, but never the SIP I/O threads. When work on a
// PostgreSQL/MySQL session fails, the session is reconnected before its next
// use, so the database coming back after an outage needs no restart;
// with_session_retried() also runs idempotent work a second time, straight
// away, on the reconnected session (otherwise a server restart would cost
// one failed query per pooled session).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <soci/soci.h>

namespace cppbx::storage {

// The SQL flavour behind a Database; migrations may differ per dialect.
enum class Dialect { Sqlite, Postgresql, Mysql };

std::string_view dialect_name(Dialect dialect);

// One schema step. `statements` is portable SQL run on every dialect that has
// no list of its own; `postgresql` / `mysql` / `sqlite`, when not empty,
// replace it on that dialect (e.g. AUTO_INCREMENT vs SERIAL vs INTEGER
// PRIMARY KEY). MySQL commits DDL implicitly, so a half-applied migration is
// re-run from its start: write CREATE TABLE IF NOT EXISTS / CREATE INDEX that
// can be repeated. MySQL cannot index TEXT without a length: use VARCHAR(n)
// for key, unique and indexed columns.
struct Migration {
  int version = 0;       // strictly increasing in a list, starting at 1
  std::string name;
  std::vector<std::string> statements;
  std::vector<std::string> sqlite = {};
  std::vector<std::string> postgresql = {};
  std::vector<std::string> mysql = {};

  const std::vector<std::string>& statements_for(Dialect dialect) const {
    const std::vector<std::string>* own = dialect == Dialect::Sqlite       ? &sqlite
                                          : dialect == Dialect::Postgresql ? &postgresql
                                                                           : &mysql;
    return own->empty() ? statements : *own;
  }
};

// `identifier` quoted for `dialect` ("x", or `x` on MySQL); nullopt unless it
// is [A-Za-z_][A-Za-z0-9_]* (at most 63 characters) or schema.name of two
// such parts. For table and column names that come from configuration.
std::optional<std::string> quote_identifier(Dialect dialect, std::string_view identifier);

// The dialect `url` names, without connecting; nullopt with `error` (never
// holding the password) when the URL is unusable.
std::optional<Dialect> dialect_of_url(const std::string& url, std::string& error);

// The current UTC time as "2026-11-26T14:50:00Z" (applied_at, created_at...).
std::string utc_now_iso8601();

// The built-in schema history; later features append to it.
const std::vector<Migration>& builtin_migrations();

// The SQLite file (or ":memory:") named by `url`; nullopt with `error` when
// the URL is not a usable SQLite URL. Never echoes credentials.
std::optional<std::string> sqlite_path_from_url(const std::string& url, std::string& error);

class Database {
 public:
  struct Options {
    size_t pool_size = 1;
    // Connect and read timeout of server databases (whole seconds, at least
    // 1), and the longest wait for a free pooled session.
    std::chrono::milliseconds timeout{5000};
  };

  // Opens and migrates like open(), but throws std::runtime_error (with the
  // same message) on failure; for start-up code that aborts anyway.
  explicit Database(const std::string& url);

  // Opens the database and applies builtin_migrations(). nullptr with `error`
  // when the URL is unusable, the database cannot be reached, or a migration
  // fails. `error` never holds the password.
  static std::unique_ptr<Database> open(const std::string& url, std::string& error);
  static std::unique_ptr<Database> open(const std::string& url, const Options& options,
                                        std::string& error);
  // Opens without migrating (tests, tools, the database user backend, which
  // reads a table it does not own).
  static std::unique_ptr<Database> open_unmigrated(const std::string& url, std::string& error);
  static std::unique_ptr<Database> open_unmigrated(const std::string& url,
                                                   const Options& options, std::string& error);
  ~Database();

  // Applies, in order, each migration of `migrations` not applied yet. Stops
  // at the first failure (its changes rolled back where the dialect can).
  // Refuses a database that has versions this list does not know (written
  // by a newer cppbx).
  bool migrate(const std::vector<Migration>& migrations, std::string& error);

  // Versions recorded in schema_migrations, ascending; empty on a new database.
  std::vector<int> applied_versions();
  int schema_version();  // highest applied version, 0 when none

  // Runs work(soci::session&) on a leased session and returns its result.
  // Throws what the work throws, or soci::soci_error when no session could be
  // leased or reconnected in time.
  template <typename Work>
  auto with_session(Work&& work) {
    Lease lease(*this);
    try {
      return work(lease.session());
    } catch (...) {
      lease.failed();
      throw;
    }
  }

  // For idempotent work (reads): a failure on a server database is retried
  // once on the same session, reconnected first.
  template <typename Work>
  auto with_session_retried(Work&& work) {
    Lease lease(*this);
    try {
      return work(lease.session());
    } catch (...) {
      if (!lease.reconnect_after_failure()) throw;
    }
    try {
      return work(lease.session());
    } catch (...) {
      lease.failed();
      throw;
    }
  }

  Dialect dialect() const { return dialect_; }
  size_t pool_size() const { return sessions_; }
  // For log lines: dialect and file, or dialect, database, host and port;
  // never the password.
  const std::string& description() const { return description_; }
  const std::string& sqlite_path() const { return sqlite_path_; }

  // Quotes `identifier` for this dialect ("x" or `x`); nullopt unless it is
  // [A-Za-z_][A-Za-z0-9_]* or schema.name of two such parts.
  std::optional<std::string> quote_identifier(std::string_view identifier) const {
    return storage::quote_identifier(dialect_, identifier);
  }

 private:
  // One leased pooled session; given back when destroyed.
  class Lease {
   public:
    explicit Lease(Database& database);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    soci::session& session();
    void failed();                  // reconnect this session before its next use
    bool reconnect_after_failure();  // false on SQLite or when reconnecting fails
   private:
    Database& database_;
    size_t position_ = 0;
  };

  Database() = default;
  bool connect(const std::string& url, const Options& options, std::string& error);
  std::vector<int> applied_versions(soci::session& session);
  bool schema_table_exists(soci::session& session);
  bool apply(soci::session& session, const Migration& migration, std::string& error);
  bool migrate_builtin(std::string& error);
  void reconnect_if_needed(size_t position);

  Dialect dialect_ = Dialect::Sqlite;
  size_t sessions_ = 1;
  int lease_timeout_ms_ = 5000;
  std::unique_ptr<soci::connection_pool> pool_;
  std::mutex broken_mutex_;
  std::vector<bool> broken_;  // per pooled session: reconnect before next use
  std::string sqlite_path_;
  std::string description_;
};

}  // namespace cppbx::storage
