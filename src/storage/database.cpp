// Migration 1 creates schema_migrations itself, so "which versions are
// applied" must cope with the table not existing yet; that is asked of each
// dialect's catalogue (sqlite_master, information_schema) rather than by
// trying a SELECT, because a failed statement would abort a PostgreSQL
// transaction and count as a connection failure here. A migration's
// statements and its bookkeeping row share one transaction: SQLite and
// PostgreSQL roll a failed migration back whole; MySQL commits each DDL
// statement, which is why migrations must be repeatable (see Migration).
//
// Reconnecting: after any failure on a server session the session is marked
// and reconnected when next leased, rather than probed, since the cheapest
// reliable test of a connection is the next real query.
#include "storage/database.hpp"

#include "common/database_url.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <set>

#include <fmt/format.h>
#include <soci/connection-pool.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <spdlog/spdlog.h>

// The PostgreSQL and MySQL backends are reached through the factory
// functions their libraries export: their SOCI headers pull in libpq's and
// libmariadb's development headers, which this code does not otherwise need.
extern "C" const soci::backend_factory* factory_postgresql();
extern "C" const soci::backend_factory* factory_mysql();

namespace cppbx::storage {
namespace {

constexpr int kBusyTimeoutSeconds = 5;

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

bool is_plain_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

Dialect dialect_of(database_url::Kind kind) {
  switch (kind) {
    case database_url::Kind::Sqlite: return Dialect::Sqlite;
    case database_url::Kind::Postgresql: return Dialect::Postgresql;
    case database_url::Kind::Mysql: return Dialect::Mysql;
  }
  return Dialect::Sqlite;
}

// SOCI's messages quote the connection string on some failures; ours must
// never carry the password, so a message that contains it is replaced.
std::string safe_message(const std::string& message, const std::string& password) {
  if (!password.empty() && message.find(password) != std::string::npos) {
    return "connection failed (driver message withheld: it contained the password)";
  }
  return message;
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
  return open_unmigrated(url, Options{}, error);
}

std::unique_ptr<Database> Database::open_unmigrated(const std::string& url,
                                                    const Options& options, std::string& error) {
  std::unique_ptr<Database> database(new Database());
  if (!database->connect(url, options, error)) return nullptr;
  return database;
}

std::unique_ptr<Database> Database::open(const std::string& url, std::string& error) {
  return open(url, Options{}, error);
}

std::unique_ptr<Database> Database::open(const std::string& url, const Options& options,
                                         std::string& error) {
  auto database = open_unmigrated(url, options, error);
  if (!database || !database->migrate_builtin(error)) return nullptr;
  return database;
}

Database::Database(const std::string& url) {
  std::string error;
  if (!connect(url, Options{}, error) || !migrate_builtin(error)) {
    throw std::runtime_error(error);
  }
}

Database::~Database() = default;

bool Database::migrate_builtin(std::string& error) {
  if (!migrate(builtin_migrations(), error)) return false;
  spdlog::info("database: {} at schema version {}", description_, schema_version());
  return true;
}

bool Database::connect(const std::string& url, const Options& options, std::string& error) {
  auto parsed = database_url::parse(url, error);
  if (!parsed) return false;
  dialect_ = dialect_of(parsed->kind);
  int timeout_seconds =
      static_cast<int>(std::max<int64_t>(1, (options.timeout.count() + 999) / 1000));
  lease_timeout_ms_ = static_cast<int>(std::max<int64_t>(1, options.timeout.count()));
  std::string connect_string;
  const soci::backend_factory* backend = &soci::sqlite3;
  if (dialect_ == Dialect::Sqlite) {
    sqlite_path_ = parsed->sqlite_path;
    description_ = fmt::format("sqlite {}", sqlite_path_);
    connect_string = fmt::format("db=\"{}\" timeout={}", sqlite_path_, kBusyTimeoutSeconds);
  } else {
    backend = dialect_ == Dialect::Postgresql ? factory_postgresql() : factory_mysql();
    description_ = fmt::format("{} database '{}' on {}:{}", dialect_name(dialect_),
                               parsed->database, parsed->host, parsed->port);
    connect_string = database_url::soci_connect_string(*parsed, timeout_seconds);
  }
  sessions_ = sqlite_path_ == ":memory:" ? 1 : std::max<size_t>(1, options.pool_size);
  pool_ = std::make_unique<soci::connection_pool>(sessions_);
  broken_.assign(sessions_, false);
  try {
    for (size_t i = 0; i < sessions_; ++i) pool_->at(i).open(*backend, connect_string);
    if (dialect_ == Dialect::Sqlite) {
      // sqlite opens lazily; touching the schema proves the file is usable.
      int tables = 0;
      pool_->at(0) << "SELECT count(*) FROM sqlite_master", soci::into(tables);
    }
    return true;
  } catch (const std::exception& e) {
    error = fmt::format("cannot open {}: {}", description_,
                        safe_message(e.what(), parsed->password));
    return false;
  }
}

std::optional<Dialect> dialect_of_url(const std::string& url, std::string& error) {
  auto parsed = database_url::parse(url, error);
  if (!parsed) return std::nullopt;
  return dialect_of(parsed->kind);
}

std::optional<std::string> quote_identifier(Dialect dialect, std::string_view identifier) {
  const char quote = dialect == Dialect::Mysql ? '`' : '"';
  auto quoted_part = [quote](std::string_view part) {
    return std::string(1, quote) + std::string(part) + quote;
  };
  size_t dot = identifier.find('.');
  if (dot == std::string_view::npos) {
    if (!is_plain_identifier(identifier)) return std::nullopt;
    return quoted_part(identifier);
  }
  std::string_view schema = identifier.substr(0, dot);
  std::string_view name = identifier.substr(dot + 1);
  if (!is_plain_identifier(schema) || !is_plain_identifier(name)) return std::nullopt;
  return quoted_part(schema) + "." + quoted_part(name);
}

Database::Lease::Lease(Database& database) : database_(database) {
  if (!database_.pool_->try_lease(position_, database_.lease_timeout_ms_)) {
    throw soci::soci_error("no free database session within the timeout");
  }
  try {
    database_.reconnect_if_needed(position_);
  } catch (...) {
    database_.pool_->give_back(position_);
    throw;
  }
}

Database::Lease::~Lease() { database_.pool_->give_back(position_); }

soci::session& Database::Lease::session() { return database_.pool_->at(position_); }

void Database::Lease::failed() {
  if (database_.dialect_ == Dialect::Sqlite) return;
  std::lock_guard lock(database_.broken_mutex_);
  database_.broken_[position_] = true;
}

bool Database::Lease::reconnect_after_failure() {
  if (database_.dialect_ == Dialect::Sqlite) return false;
  failed();
  try {
    database_.reconnect_if_needed(position_);
    return true;
  } catch (const std::exception&) {
    return false;  // still marked; the caller reports the original failure
  }
}

void Database::reconnect_if_needed(size_t position) {
  {
    std::lock_guard lock(broken_mutex_);
    if (!broken_[position]) return;
  }
  // reconnect() reuses the parameters of the first open(); it throws while
  // the server is still away, and the session stays marked.
  pool_->at(position).reconnect();
  std::lock_guard lock(broken_mutex_);
  broken_[position] = false;
  spdlog::info("database: reconnected to {}", description_);
}

std::vector<int> Database::applied_versions() {
  return with_session([&](soci::session& session) { return applied_versions(session); });
}

int Database::schema_version() {
  auto versions = applied_versions();
  return versions.empty() ? 0 : versions.back();
}

bool Database::schema_table_exists(soci::session& session) {
  long long count = 0;
  switch (dialect_) {
    case Dialect::Sqlite:
      session << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                 "name = 'schema_migrations'",
          soci::into(count);
      break;
    case Dialect::Postgresql:
      session << "SELECT count(*) FROM information_schema.tables WHERE "
                 "table_schema = current_schema() AND table_name = 'schema_migrations'",
          soci::into(count);
      break;
    case Dialect::Mysql:
      session << "SELECT count(*) FROM information_schema.tables WHERE "
                 "table_schema = DATABASE() AND table_name = 'schema_migrations'",
          soci::into(count);
      break;
  }
  return count > 0;
}

std::vector<int> Database::applied_versions(soci::session& session) {
  if (!schema_table_exists(session)) return {};
  std::vector<int> versions;
  soci::rowset<int> rows = (session.prepare << "SELECT version FROM schema_migrations");
  for (int version : rows) versions.push_back(version);
  std::sort(versions.begin(), versions.end());
  return versions;
}

bool Database::migrate(const std::vector<Migration>& migrations, std::string& error) {
  if (!well_ordered(migrations, error)) return false;
  try {
    return with_session([&](soci::session& session) {
      std::set<int> applied;
      try {
        auto versions = applied_versions(session);
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
        if (!apply(session, migration, error)) return false;
      }
      return true;
    });
  } catch (const std::exception& e) {
    error = fmt::format("cannot migrate {}: {}", description_, e.what());
    return false;
  }
}

bool Database::apply(soci::session& session, const Migration& migration, std::string& error) {
  try {
    std::string applied_at = utc_now_iso8601();
    soci::transaction transaction(session);
    for (const auto& statement : migration.statements_for(dialect_)) session << statement;
    session << "INSERT INTO schema_migrations (version, name, applied_at) "
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

std::string utc_now_iso8601() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace cppbx::storage
