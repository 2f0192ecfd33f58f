// See database_backend.hpp. The Engine holds everything a query needs and is
// shared with the pool's work items, so a lookup still running when the
// backend is replaced (reload) finishes on valid state.
#include "users/database_backend.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/database_url.hpp"
#include "storage/database.hpp"
#include "users/config_fields.hpp"

namespace cppbx::users {
namespace {

constexpr int kMaxRows = 16;
constexpr auto kReconnectSpacing = std::chrono::seconds(1);

// What each selected column is, in SELECT order.
enum class Column { Username, Password, Realm, Enabled, DisplayName, Ha1 };

bool valid_ha1(std::string_view value) {
  return value.size() == 32 &&
         std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// A username as it may appear in a log line: printable ASCII, bounded.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  return out;
}

}  // namespace

bool truthy(std::string_view value) {
  if (value == std::string_view("\x01", 1)) return true;
  std::string word = lowercase(trimmed(value));
  return word == "1" || word == "true" || word == "t" || word == "yes";
}

struct DatabaseBackend::Engine {
  DatabaseBackendOptions options;
  storage::Dialect dialect = storage::Dialect::Sqlite;
  std::string query;
  std::vector<Column> columns;
  std::string password_in_url;  // to keep it out of error details
  std::string description;

  std::mutex mutex;
  std::unique_ptr<storage::Database> database;
  std::chrono::steady_clock::time_point last_attempt{};
  bool attempted = false;

  // The open database, connecting first if needed (spaced by a second).
  storage::Database* connected(std::string& error);
  LookupResult lookup(const LookupRequest& request);
  std::optional<SipUser> user_from_row(const std::vector<std::string>& values,
                                       const std::vector<soci::indicator>& indicators,
                                       const LookupRequest& request) const;
  std::string safe(const std::string& message) const {
    if (!password_in_url.empty() && message.find(password_in_url) != std::string::npos) {
      return "driver error (message withheld: it contained the password)";
    }
    return message.size() > 300 ? message.substr(0, 300) : message;
  }
};

storage::Database* DatabaseBackend::Engine::connected(std::string& error) {
  std::lock_guard lock(mutex);
  if (database) return database.get();
  auto now = std::chrono::steady_clock::now();
  if (attempted && now - last_attempt < kReconnectSpacing) {
    error = "database not reachable (next connection attempt within a second)";
    return nullptr;
  }
  attempted = true;
  last_attempt = now;
  storage::Database::Options db_options;
  db_options.pool_size = options.pool_size;
  db_options.timeout = options.timeout;
  std::string open_error;
  database = storage::Database::open_unmigrated(options.url, db_options, open_error);
  if (!database) {
    error = safe(open_error);
    return nullptr;
  }
  spdlog::info("database user backend: connected to {}", database->description());
  return database.get();
}

std::optional<SipUser> DatabaseBackend::Engine::user_from_row(
    const std::vector<std::string>& values, const std::vector<soci::indicator>& indicators,
    const LookupRequest& request) const {
  SipUser user;
  user.username = request.username;
  user.enabled = options.enabled_column.empty();
  for (size_t i = 0; i < columns.size(); ++i) {
    bool present = indicators[i] == soci::i_ok || indicators[i] == soci::i_truncated;
    const std::string empty;
    const std::string& value = present ? values[i] : empty;
    switch (columns[i]) {
      case Column::Username:
        if (present) user.username = value;
        break;
      case Column::Password: user.password = value; break;
      case Column::Realm: user.realm = trimmed(value); break;
      case Column::Enabled: user.enabled = present && truthy(value); break;
      case Column::DisplayName: user.display_name = value; break;
      case Column::Ha1: {
        std::string ha1 = trimmed(value);
        if (valid_ha1(ha1)) {
          user.ha1_md5 = lowercase(ha1);
        } else if (!ha1.empty()) {
          spdlog::warn("database user backend: {} of user '{}' is not 32 hex digits; ignored",
                       options.ha1_column, printable(request.username));
        }
        break;
      }
    }
  }
  if (user.password.empty() && !user.ha1_md5) {
    spdlog::warn("database user backend: user '{}' has neither a password nor an HA1; "
                 "treated as unknown",
                 printable(request.username));
    return std::nullopt;
  }
  return user;
}

LookupResult DatabaseBackend::Engine::lookup(const LookupRequest& request) {
  std::string error;
  storage::Database* db = connected(error);
  if (db == nullptr) return LookupResult::error(error);
  std::vector<SipUser> users;
  try {
    users = db->with_session_retried([&](soci::session& sql) {
      std::vector<SipUser> found;
      std::vector<std::string> values(columns.size());
      std::vector<soci::indicator> indicators(columns.size(), soci::i_null);
      std::string username = request.username;
      soci::statement statement(sql);
      statement.alloc();
      // One round trip: a repeatable statement would be prepared, run and
      // deallocated on the server for every lookup (three statements).
      statement.prepare(query, soci::details::st_one_time_query);
      for (size_t i = 0; i < columns.size(); ++i) {
        statement.exchange(soci::into(values[i], indicators[i]));
      }
      statement.exchange(soci::use(username, "username"));
      statement.define_and_bind();
      statement.execute(false);
      while (statement.fetch()) {
        if (auto user = user_from_row(values, indicators, request)) found.push_back(*user);
        std::fill(indicators.begin(), indicators.end(), soci::i_null);
      }
      return found;
    });
  } catch (const std::exception& e) {
    return LookupResult::error("query failed: " + safe(e.what()));
  }
  if (users.empty()) return LookupResult::not_found();
  for (SipUser& user : users) {
    if (realm_matches(user.realm, request.realm)) return LookupResult::found(std::move(user));
  }
  // Only users of other realms: the auth module refuses them like unknown ones.
  return LookupResult::found(std::move(users.front()));
}

std::shared_ptr<DatabaseBackend> DatabaseBackend::create(const DatabaseBackendOptions& options,
                                                         std::string& error) {
  auto dialect = storage::dialect_of_url(options.url, error);
  if (!dialect) return nullptr;
  auto engine = std::make_shared<Engine>();
  engine->options = options;
  engine->dialect = *dialect;
  if (auto parsed = database_url::parse(options.url, error)) {
    engine->password_in_url = parsed->password;
  }

  auto quoted = [&](std::string_view what, const std::string& name) -> std::optional<std::string> {
    auto result = storage::quote_identifier(*dialect, name);
    if (!result) {
      error = fmt::format("{} '{}' is not a valid SQL identifier (letters, digits and _, not "
                          "starting with a digit; schema.table allowed for the table)",
                          what, printable(name));
    }
    return result;
  };
  auto table = quoted("table_name", options.table_name);
  if (!table) return nullptr;
  std::vector<std::string> selected;
  auto add = [&](std::string_view what, const std::string& name, Column column) {
    if (name.empty()) return true;
    if (name.find('.') != std::string::npos) {
      error = fmt::format("{} '{}' must be a plain column name", what, printable(name));
      return false;
    }
    auto column_name = quoted(what, name);
    if (!column_name) return false;
    selected.push_back(*column_name);
    engine->columns.push_back(column);
    return true;
  };
  if (options.username_column.empty()) {
    error = "username_column must not be empty";
    return nullptr;
  }
  if (options.password_column.empty() && options.ha1_column.empty()) {
    error = "password_column or ha1_column is needed";
    return nullptr;
  }
  if (!add("username_column", options.username_column, Column::Username) ||
      !add("password_column", options.password_column, Column::Password) ||
      !add("realm_column", options.realm_column, Column::Realm) ||
      !add("enabled_column", options.enabled_column, Column::Enabled) ||
      !add("display_name_column", options.display_name_column, Column::DisplayName) ||
      !add("ha1_column", options.ha1_column, Column::Ha1)) {
    return nullptr;
  }
  std::string order;
  if (!options.id_column.empty()) {
    if (options.id_column.find('.') != std::string::npos) {
      error = fmt::format("id_column '{}' must be a plain column name", printable(options.id_column));
      return nullptr;
    }
    auto id = quoted("id_column", options.id_column);
    if (!id) return nullptr;
    order = " ORDER BY " + *id;
  }
  engine->query = fmt::format("SELECT {} FROM {} WHERE {} = :username{} LIMIT {}",
                              fmt::join(selected, ", "), *table, selected.front(), order,
                              kMaxRows);

  std::shared_ptr<DatabaseBackend> backend(new DatabaseBackend());
  backend->engine_ = engine;
  BlockingPool::Options pool_options;
  pool_options.name = "database";
  pool_options.threads = options.pool_size;
  pool_options.max_in_flight = options.max_in_flight;
  pool_options.timeout = options.timeout;
  backend->pool_ = std::make_unique<BlockingPool>(pool_options);
  // Connections are opened by the first lookup, on a worker: building the
  // backend (cppbx --check-config, start-up validation) opens none.
  error.clear();
  return backend;
}

DatabaseBackend::~DatabaseBackend() = default;

const std::string& DatabaseBackend::query() const { return engine_->query; }

void DatabaseBackend::lookup(const LookupRequest& request, LookupCallback done) {
  pool_->submit([engine = engine_, request] { return engine->lookup(request); },
                std::move(done));
}

// ---------------------------------------------------------------------------
// Configuration.

std::shared_ptr<UserBackend> make_database_backend(const config::UserBackendConfig& cfg,
                                                   config::Diagnostics& diagnostics) {
  ConfigFields fields(cfg.table, cfg.key_path, cfg.where, diagnostics);
  DatabaseBackendOptions options;
  bool ok = true;
  auto url = fields.string("url", false);
  options.url = url ? *url : cfg.database_url;
  auto read_name = [&](std::string_view key, std::string& target) {
    if (auto value = fields.string(key, false)) target = *value;
    else if (fields.node(key) != nullptr) ok = false;  // wrong type, reported
  };
  read_name("table_name", options.table_name);
  read_name("id_column", options.id_column);
  read_name("username_column", options.username_column);
  bool password_set = fields.node("password_column") != nullptr;
  read_name("password_column", options.password_column);
  read_name("realm_column", options.realm_column);
  read_name("enabled_column", options.enabled_column);
  read_name("display_name_column", options.display_name_column);
  read_name("ha1_column", options.ha1_column);
  // With an HA1 column the table need not have a password column at all.
  if (!options.ha1_column.empty() && !password_set) options.password_column.clear();
  if (auto ms = fields.integer("timeout_ms", 1, 600000, ok)) {
    options.timeout = std::chrono::milliseconds(*ms);
  }
  if (auto n = fields.integer("max_in_flight", 1, 100000, ok)) {
    options.max_in_flight = static_cast<size_t>(*n);
  }
  if (auto n = fields.integer("pool_size", 1, 64, ok)) {
    options.pool_size = static_cast<size_t>(*n);
  }
  fields.warn_unknown_keys();
  if (!ok) return nullptr;
  if (options.url.empty()) {
    fields.error(nullptr, "url", "is required when database_url is not set");
    return nullptr;
  }
  std::string error;
  auto backend = DatabaseBackend::create(options, error);
  if (!backend) {
    // Point at the offending key when the message names one.
    std::string field = "url";
    for (std::string_view key : {"table_name", "id_column", "username_column", "password_column",
                                 "realm_column", "enabled_column", "display_name_column",
                                 "ha1_column"}) {
      if (error.rfind(key, 0) == 0) field = std::string(key);
    }
    fields.error(fields.node(field), field, error);
    return nullptr;
  }
  return backend;
}

}  // namespace cppbx::users
