// Migration 1 creates schema_migrations itself, so "which versions are
// applied" must cope with the table not existing yet (checked through
// sqlite_master). Each migration's statements and its bookkeeping row share
// one transaction: SQLite DDL is transactional, so a failed migration leaves
// no half-created tables behind.
#include "storage/database.hpp"

#include "common/database_url.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include <fmt/format.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <spdlog/spdlog.h>

namespace cppbx::storage {
namespace {

constexpr int kBusyTimeoutSeconds = 5;

std::string utc_now_iso8601() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// Checks that versions are unique and increasing, so "apply what is missing,
// in order" is well defined.
bool well_ordered(const std::vector<Migration>& migrations, std::string& error) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    int previous = i == 0 ? 0 : migrations[i - 1].version;
    if (migrations[i].version <= previous) {
      error = fmt::format("migration list is not in increasing version order at '{}'",
                          migrations[i].name);
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view dialect_name(Dialect dialect) {
  switch (dialect) {
    case Dialect::Sqlite: return "sqlite";
    case Dialect::Postgresql: return "postgresql";
    case Dialect::Mysql: return "mysql";
  }
  return "unknown";
}

std::optional<std::string> sqlite_path_from_url(const std::string& url, std::string& error) {
  return database_url::sqlite_path(url, error);
}

std::unique_ptr<Database> Database::open_unmigrated(const std::string& url, std::string& error) {
  auto path = sqlite_path_from_url(url, error);
  if (!path) return nullptr;
  std::unique_ptr<Database> database(new Database(*path, Unconnected{}));
  if (!database->connect(error)) return nullptr;
  return database;
}

std::unique_ptr<Database> Database::open(const std::string& url, std::string& error) {
  auto database = open_unmigrated(url, error);
  if (!database || !database->migrate_builtin(error)) return nullptr;
  return database;
}

Database::Database(const std::string& url) {
  std::string error;
  auto path = sqlite_path_from_url(url, error);
  if (!path) throw std::runtime_error(error);
  sqlite_path_ = *path;
  if (!connect(error) || !migrate_builtin(error)) throw std::runtime_error(error);
}

bool Database::migrate_builtin(std::string& error) {
  if (!migrate(builtin_migrations(), error)) return false;
  spdlog::info("database: sqlite {} at schema version {}", sqlite_path_, schema_version());
  return true;
}

bool Database::connect(std::string& error) {
  try {
    session_.open(soci::sqlite3, fmt::format("db=\"{}\" timeout={}", sqlite_path_,
                                             kBusyTimeoutSeconds));
    // sqlite opens lazily; touching the schema proves the file is usable.
    int tables = 0;
    session_ << "SELECT count(*) FROM sqlite_master", soci::into(tables);
    return true;
  } catch (const std::exception& e) {
    error = fmt::format("cannot open sqlite database '{}': {}", sqlite_path_, e.what());
    return false;
  }
}

std::vector<int> Database::applied_versions() {
  std::lock_guard lock(mutex_);
  return applied_versions_locked();
}

int Database::schema_version() {
  auto versions = applied_versions();
  return versions.empty() ? 0 : versions.back();
}

std::vector<int> Database::applied_versions_locked() {
  int exists = 0;
  session_ << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
              "name = 'schema_migrations'",
      soci::into(exists);
  if (exists == 0) return {};
  std::vector<int> versions;
  soci::rowset<int> rows = (session_.prepare << "SELECT version FROM schema_migrations");
  for (int version : rows) versions.push_back(version);
  std::sort(versions.begin(), versions.end());
  return versions;
}

bool Database::migrate(const std::vector<Migration>& migrations, std::string& error) {
  if (!well_ordered(migrations, error)) return false;
  std::lock_guard lock(mutex_);
  std::set<int> applied;
  try {
    auto versions = applied_versions_locked();
    applied.insert(versions.begin(), versions.end());
  } catch (const std::exception& e) {
    error = fmt::format("cannot read schema_migrations: {}", e.what());
    return false;
  }
  int newest_known = migrations.empty() ? 0 : migrations.back().version;
  if (!applied.empty() && *applied.rbegin() > newest_known) {
    error = fmt::format("database schema version {} is newer than this cppbx knows ({})",
                        *applied.rbegin(), newest_known);
    return false;
  }
  for (const Migration& migration : migrations) {
    if (applied.count(migration.version)) continue;
    if (!apply_locked(migration, error)) return false;
  }
  return true;
}

bool Database::apply_locked(const Migration& migration, std::string& error) {
  try {
    std::string applied_at = utc_now_iso8601();
    soci::transaction transaction(session_);
    for (const auto& statement : migration.statements_for(Dialect::Sqlite)) session_ << statement;
    session_ << "INSERT INTO schema_migrations (version, name, applied_at) "
                "VALUES (:version, :name, :applied_at)",
        soci::use(migration.version), soci::use(migration.name), soci::use(applied_at);
    transaction.commit();
    spdlog::info("database: applied migration {} ({})", migration.version, migration.name);
    return true;
  } catch (const std::exception& e) {
    error = fmt::format("migration {} ({}) failed: {}", migration.version, migration.name,
                        e.what());
    return false;
  }
}

}  // namespace cppbx::storage
