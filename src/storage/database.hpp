// The SQL database behind `database_url`, with versioned schema migrations.
//
// Only SQLite is built for now ("sqlite://path", "sqlite:///abs/path",
// "sqlite::memory:"); MySQL and PostgreSQL URLs are refused with a clear
// message. Migrations are a list in code, each applied once inside its own
// transaction and recorded in `schema_migrations` (version, name, applied_at),
// so opening the same database again is a no-op. A soci::session is not
// thread-safe: all access goes through with_session(), which serialises it.
// Callers on SIP I/O threads must hand queries to a worker instead.
#pragma once

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

// The built-in schema history; later features append to it.
const std::vector<Migration>& builtin_migrations();

// The SQLite file (or ":memory:") named by `url`; nullopt with `error` when
// the URL is not a usable SQLite URL. Never echoes credentials.
std::optional<std::string> sqlite_path_from_url(const std::string& url, std::string& error);

class Database {
 public:
  // Opens and migrates like open(), but throws std::runtime_error (with the
  // same message) on failure; for start-up code that aborts anyway.
  explicit Database(const std::string& url);

  // Opens the database and applies builtin_migrations(). nullptr with `error`
  // when the URL is unusable, the file cannot be opened, or a migration fails.
  static std::unique_ptr<Database> open(const std::string& url, std::string& error);
  // Opens without migrating (tests, tools).
  static std::unique_ptr<Database> open_unmigrated(const std::string& url, std::string& error);

  // Applies, in order, each migration of `migrations` not applied yet. Stops
  // at the first failure (its changes rolled back). Refuses a database that
  // has versions this list does not know (written by a newer cppbx).
  bool migrate(const std::vector<Migration>& migrations, std::string& error);

  // Versions recorded in schema_migrations, ascending; empty on a new database.
  std::vector<int> applied_versions();
  int schema_version();  // highest applied version, 0 when none

  template <typename Work>
  auto with_session(Work&& work) {
    std::lock_guard lock(mutex_);
    return work(session_);
  }

  const std::string& sqlite_path() const { return sqlite_path_; }

 private:
  struct Unconnected {};
  Database(std::string sqlite_path, Unconnected) : sqlite_path_(std::move(sqlite_path)) {}
  bool connect(std::string& error);
  std::vector<int> applied_versions_locked();
  bool apply_locked(const Migration& migration, std::string& error);
  bool migrate_builtin(std::string& error);

  std::mutex mutex_;
  soci::session session_;
  std::string sqlite_path_;
};

}  // namespace cppbx::storage
