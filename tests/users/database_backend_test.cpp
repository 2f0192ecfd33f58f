// The `database` user backend against real databases: SQLite files (and an
// in-memory database), and PostgreSQL 15 and MariaDB servers started by the
// test itself (tests/support/db_servers.hpp). The same behaviour is checked
// on each: default and custom column names, realms, enabled values of every
// column type, HA1-only users, injection-looking usernames, and outages
// (errors while the server is down, answers again once it is back).
#include "users/database_backend.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "storage/database.hpp"
#include "support/db_servers.hpp"
#include "users/backend_factory.hpp"
#include "users/test_support.hpp"

namespace cppbx::users {
namespace {

namespace fs = std::filesystem;
using cppbx::testing::DbServer;
using cppbx::testing::MariaDbServer;
using cppbx::testing::PostgresServer;
using testing::backend_config;
using testing::has_diagnostic;

LookupResult lookup_sync(UserBackend& backend, const std::string& username,
                         const std::string& realm = "example.com") {
  std::promise<LookupResult> promise;
  auto answer = promise.get_future();
  backend.lookup({username, realm}, [&promise](LookupResult result) {
    promise.set_value(std::move(result));
  });
  if (answer.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within 20 s";
    return LookupResult::error("test: no answer");
  }
  return answer.get();
}

enum class Kind { SqliteFile, Postgres, MariaDb };

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::SqliteFile: return "Sqlite";
    case Kind::Postgres: return "Postgres";
    case Kind::MariaDb: return "MariaDb";
  }
  return "Unknown";
}

// Each test gets an empty database of its kind and an admin connection to
// fill it; the servers are shared by the whole suite.
class DatabaseBackendTest : public ::testing::TestWithParam<Kind> {
 protected:
  static std::unique_ptr<DbServer>& server(Kind kind) {
    static std::unique_ptr<DbServer> postgres;
    static std::unique_ptr<DbServer> mariadb;
    return kind == Kind::Postgres ? postgres : mariadb;
  }
  static void TearDownTestSuite() {
    server(Kind::Postgres).reset();
    server(Kind::MariaDb).reset();
  }

  void SetUp() override {
    if (GetParam() == Kind::SqliteFile) {
      dir_ = fs::temp_directory_path() /
             ("cppbx dbbackend " + std::to_string(::getpid()) + " " +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
      fs::create_directories(dir_);
      url_ = "sqlite://" + (dir_ / "users.sqlite3").string();
    } else {
      bool postgres = GetParam() == Kind::Postgres;
      if (postgres && !PostgresServer::available()) GTEST_SKIP() << PostgresServer::missing_message();
      if (!postgres && !MariaDbServer::available()) GTEST_SKIP() << MariaDbServer::missing_message();
      auto& instance = server(GetParam());
      if (!instance) {
        if (postgres) instance = std::make_unique<PostgresServer>();
        else instance = std::make_unique<MariaDbServer>();
      }
      std::string error;
      ASSERT_TRUE(instance->start(error)) << error;
      url_ = instance->url();
    }
    std::string error;
    admin_ = storage::Database::open_unmigrated(url_, error);
    ASSERT_NE(admin_, nullptr) << error;
    sql("DROP TABLE IF EXISTS users");
    sql("DROP TABLE IF EXISTS sip_accounts");
  }

  void TearDown() override {
    admin_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void sql(const std::string& statement) {
    admin_->with_session([&](soci::session& session) {
      session << statement;
      return 0;
    });
  }

  bool is_postgres() const { return GetParam() == Kind::Postgres; }
  bool is_mysql() const { return GetParam() == Kind::MariaDb; }

  std::shared_ptr<DatabaseBackend> backend(DatabaseBackendOptions options) {
    options.url = url_;
    std::string error;
    auto created = DatabaseBackend::create(options, error);
    EXPECT_NE(created, nullptr) << error;
    return created;
  }

  // The RustPBX-like table with custom names: realm, enabled flag of the
  // dialect's natural boolean type, display name, and an HA1 column.
  void create_accounts_table() {
    std::string flag = is_postgres() ? "BOOLEAN" : is_mysql() ? "TINYINT(1)" : "INTEGER";
    sql("CREATE TABLE sip_accounts (uid INTEGER PRIMARY KEY, login VARCHAR(64) NOT NULL, "
        "secret VARCHAR(64), domain VARCHAR(64), active " + flag + ", full_name VARCHAR(64), "
        "digest VARCHAR(64))");
    std::string yes = is_postgres() ? "TRUE" : "1";
    std::string no = is_postgres() ? "FALSE" : "0";
    sql("INSERT INTO sip_accounts VALUES (1, '1001', 'pw-a', 'a.example.com', " + yes +
        ", 'Alice A', NULL)");
    sql("INSERT INTO sip_accounts VALUES (2, '1001', 'pw-b', 'b.example.com', " + yes +
        ", 'Alice B', NULL)");
    sql("INSERT INTO sip_accounts VALUES (3, '1002', 'pw-off', '', " + no + ", 'Off', NULL)");
    sql("INSERT INTO sip_accounts VALUES (4, '1003', 'pw-null', NULL, NULL, NULL, NULL)");
    // HA1 of 1004:a.example.com:secret4, in capitals: stored hex case varies.
    sql("INSERT INTO sip_accounts VALUES (5, '1004', NULL, 'a.example.com', " + yes +
        ", 'Hash Only', '" + ha1_1004_upper() + "')");
    sql("INSERT INTO sip_accounts VALUES (6, '1005', NULL, NULL, " + yes + ", 'No Secret', "
        "'not-a-hash')");
  }
  static std::string ha1_1004_upper() { return "C4F1F7546365564F37EFD78705C268C3"; }

  DatabaseBackendOptions accounts_options() {
    DatabaseBackendOptions options;
    options.table_name = "sip_accounts";
    options.id_column = "uid";
    options.username_column = "login";
    options.password_column = "secret";
    options.realm_column = "domain";
    options.enabled_column = "active";
    options.display_name_column = "full_name";
    options.ha1_column = "digest";
    return options;
  }

  fs::path dir_;
  std::string url_;
  std::unique_ptr<storage::Database> admin_;
};

TEST_P(DatabaseBackendTest, DefaultColumnsFindUsersAndNotOthers) {
  sql("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64), password VARCHAR(64))");
  sql("INSERT INTO users VALUES (1, 'alice', 'wonderland')");
  auto users = backend({});
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->type(), "database");
  LookupResult found = lookup_sync(*users, "alice");
  ASSERT_EQ(found.outcome, LookupOutcome::Found) << found.detail;
  EXPECT_EQ(found.user.username, "alice");
  EXPECT_EQ(found.user.password, "wonderland");
  EXPECT_TRUE(found.user.enabled);
  EXPECT_TRUE(found.user.realm.empty());
  EXPECT_FALSE(found.user.ha1_md5.has_value());
  EXPECT_EQ(lookup_sync(*users, "bob").outcome, LookupOutcome::NotFound);
}

TEST_P(DatabaseBackendTest, CustomColumnsRealmsAndEnabledFlags) {
  create_accounts_table();
  auto users = backend(accounts_options());
  ASSERT_NE(users, nullptr);
  // The same login in two realms: the row of the asked realm wins.
  LookupResult in_b = lookup_sync(*users, "1001", "b.example.com");
  ASSERT_EQ(in_b.outcome, LookupOutcome::Found) << in_b.detail;
  EXPECT_EQ(in_b.user.password, "pw-b");
  EXPECT_EQ(in_b.user.display_name, "Alice B");
  EXPECT_EQ(in_b.user.realm, "b.example.com");
  LookupResult in_a = lookup_sync(*users, "1001", "A.Example.com:5060");
  EXPECT_EQ(in_a.user.password, "pw-a");
  // No matching realm: a found user of another realm (refused upstream).
  LookupResult elsewhere = lookup_sync(*users, "1001", "c.example.com");
  ASSERT_EQ(elsewhere.outcome, LookupOutcome::Found);
  EXPECT_FALSE(realm_matches(elsewhere.user.realm, "c.example.com"));
  // Disabled (0 / FALSE) and NULL enabled values are not enabled.
  LookupResult off = lookup_sync(*users, "1002");
  ASSERT_EQ(off.outcome, LookupOutcome::Found);
  EXPECT_FALSE(off.user.enabled);
  EXPECT_TRUE(off.user.realm.empty());
  LookupResult null_flag = lookup_sync(*users, "1003");
  ASSERT_EQ(null_flag.outcome, LookupOutcome::Found);
  EXPECT_FALSE(null_flag.user.enabled);
  EXPECT_TRUE(null_flag.user.display_name.empty());
  EXPECT_TRUE(in_b.user.enabled);
}

TEST_P(DatabaseBackendTest, Ha1OnlyUsersAndRowsWithoutASecret) {
  create_accounts_table();
  auto users = backend(accounts_options());
  ASSERT_NE(users, nullptr);
  LookupResult hashed = lookup_sync(*users, "1004", "a.example.com");
  ASSERT_EQ(hashed.outcome, LookupOutcome::Found) << hashed.detail;
  EXPECT_TRUE(hashed.user.password.empty());
  ASSERT_TRUE(hashed.user.ha1_md5.has_value());
  std::string lower = ha1_1004_upper();
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(*hashed.user.ha1_md5, lower);
  // Neither a password nor a valid HA1: never a user with an empty secret.
  EXPECT_EQ(lookup_sync(*users, "1005").outcome, LookupOutcome::NotFound);
}

TEST_P(DatabaseBackendTest, TextAndIntegerEnabledValues) {
  sql("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64), password VARCHAR(64), "
      "enabled VARCHAR(16), n INTEGER)");
  const std::vector<std::pair<std::string, bool>> values = {
      {"1", true},   {"true", true}, {"TRUE", true}, {"t", true},  {"Yes", true},
      {" yes ", true}, {"0", false}, {"no", false},  {"f", false}, {"", false},
      {"2", false},  {"enabled", false}};
  int id = 0;
  for (const auto& [text, expected] : values) {
    ++id;
    sql("INSERT INTO users VALUES (" + std::to_string(id) + ", 'u" + std::to_string(id) +
        "', 'pw', '" + text + "', " + (expected ? "1" : "0") + ")");
  }
  DatabaseBackendOptions by_text;
  by_text.enabled_column = "enabled";
  auto users = backend(by_text);
  DatabaseBackendOptions by_number;
  by_number.enabled_column = "n";
  auto numbered = backend(by_number);
  ASSERT_TRUE(users && numbered);
  id = 0;
  for (const auto& [text, expected] : values) {
    ++id;
    std::string name = "u" + std::to_string(id);
    LookupResult result = lookup_sync(*users, name);
    ASSERT_EQ(result.outcome, LookupOutcome::Found) << name;
    EXPECT_EQ(result.user.enabled, expected) << "'" << text << "'";
    EXPECT_EQ(lookup_sync(*numbered, name).user.enabled, expected) << name;
  }
}

TEST_P(DatabaseBackendTest, InjectionLookingUsernamesAreJustNames) {
  sql("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64), password VARCHAR(64))");
  sql("INSERT INTO users VALUES (1, 'alice', 'wonderland')");
  sql("INSERT INTO users VALUES (2, 'o''brien', 'quote')");
  auto users = backend({});
  ASSERT_NE(users, nullptr);
  for (const char* name : {"' OR '1'='1", "alice' --", "alice'; DROP TABLE users; --",
                           "\" OR \"\"=\"", "alice\\", "%", "_lice"}) {
    EXPECT_EQ(lookup_sync(*users, name).outcome, LookupOutcome::NotFound) << name;
  }
  LookupResult quoted = lookup_sync(*users, "o'brien");
  ASSERT_EQ(quoted.outcome, LookupOutcome::Found);
  EXPECT_EQ(quoted.user.password, "quote");
  // The table is still there and whole.
  EXPECT_EQ(lookup_sync(*users, "alice").user.password, "wonderland");
}

TEST_P(DatabaseBackendTest, MissingTableIsAnErrorNotAnUnknownUser) {
  auto users = backend({});
  ASSERT_NE(users, nullptr);
  LookupResult result = lookup_sync(*users, "alice");
  EXPECT_EQ(result.outcome, LookupOutcome::Error);
  EXPECT_NE(result.detail.find("query failed"), std::string::npos) << result.detail;
}

// Only the server databases can be stopped and started again.
class DatabaseOutageTest : public DatabaseBackendTest {};

TEST_P(DatabaseOutageTest, ErrorsWhileTheServerIsDownAndAnswersAfterItIsBack) {
  sql("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64), password VARCHAR(64))");
  sql("INSERT INTO users VALUES (1, 'alice', 'wonderland')");
  DatabaseBackendOptions options;
  options.timeout = std::chrono::milliseconds(3000);
  options.pool_size = 2;
  auto users = backend(options);
  ASSERT_NE(users, nullptr);
  ASSERT_EQ(lookup_sync(*users, "alice").outcome, LookupOutcome::Found);
  admin_.reset();
  server(GetParam())->stop();
  for (int i = 0; i < 3; ++i) {
    LookupResult down = lookup_sync(*users, "alice");
    EXPECT_EQ(down.outcome, LookupOutcome::Error) << i;
    EXPECT_EQ(down.detail.find("s3cret"), std::string::npos) << down.detail;
  }
  std::string error;
  ASSERT_TRUE(server(GetParam())->start(error)) << error;
  for (int i = 0; i < 4; ++i) {
    LookupResult back = lookup_sync(*users, "alice");
    ASSERT_EQ(back.outcome, LookupOutcome::Found) << i << ": " << back.detail;
    EXPECT_EQ(back.user.password, "wonderland");
  }
  admin_ = storage::Database::open_unmigrated(url_, error);
  ASSERT_NE(admin_, nullptr) << error;
}

TEST_P(DatabaseBackendTest, ALockedTableAnswersErrorsAtTheTimeoutAndTheInFlightBound) {
  sql("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64), password VARCHAR(64))");
  sql("INSERT INTO users VALUES (1, 'alice', 'wonderland')");
  DatabaseBackendOptions options;
  options.timeout = std::chrono::milliseconds(400);
  options.max_in_flight = 1;
  options.pool_size = 1;
  auto users = backend(options);
  ASSERT_NE(users, nullptr);
  ASSERT_EQ(lookup_sync(*users, "alice").outcome, LookupOutcome::Found);
  admin_->with_session([&](soci::session& session) {
    // Another session holds a lock that blocks readers of the table.
    if (is_mysql()) {
      session << "LOCK TABLES users WRITE";
    } else if (is_postgres()) {
      session << "BEGIN";
      session << "LOCK TABLE users IN ACCESS EXCLUSIVE MODE";
    } else {
      session << "BEGIN EXCLUSIVE";
    }
    auto started = std::chrono::steady_clock::now();
    LookupResult stuck = lookup_sync(*users, "alice");
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(stuck.outcome, LookupOutcome::Error);
    EXPECT_NE(stuck.detail.find("timed out"), std::string::npos) << stuck.detail;
    EXPECT_GE(waited, std::chrono::milliseconds(350));
    EXPECT_LT(waited, std::chrono::milliseconds(3000));
    // The stuck query still occupies the only slot: refused at once.
    LookupResult refused = lookup_sync(*users, "alice");
    EXPECT_EQ(refused.outcome, LookupOutcome::Error);
    EXPECT_NE(refused.detail.find("in flight"), std::string::npos) << refused.detail;
    session << (is_mysql() ? "UNLOCK TABLES" : "ROLLBACK");
    return 0;
  });
  // Once the lock is gone the stuck query returns and lookups work again.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  LookupResult again = lookup_sync(*users, "alice");
  while (again.outcome != LookupOutcome::Found && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    again = lookup_sync(*users, "alice");
  }
  EXPECT_EQ(again.outcome, LookupOutcome::Found) << again.detail;
}

TEST_P(DatabaseBackendTest, ConfiguredThroughTheFactoryWithTheTopLevelUrl) {
  create_accounts_table();
  auto cfg = backend_config(
      "type = \"database\"\n"
      "table_name = \"sip_accounts\"\nid_column = \"uid\"\nusername_column = \"login\"\n"
      "password_column = \"secret\"\nrealm_column = \"domain\"\nenabled_column = \"active\"\n"
      "display_name_column = \"full_name\"\nha1_column = \"digest\"\n"
      "timeout_ms = 1500\nmax_in_flight = 8\npool_size = 2\n");
  cfg.database_url = url_;
  config::Diagnostics diagnostics;
  auto users = make_backend(cfg, diagnostics);
  ASSERT_NE(users, nullptr);
  EXPECT_FALSE(diagnostics.has_errors());
  EXPECT_TRUE(diagnostics.all().empty());  // every key known
  EXPECT_EQ(lookup_sync(*users, "1001", "b.example.com").user.display_name, "Alice B");
}

INSTANTIATE_TEST_SUITE_P(Databases, DatabaseBackendTest,
                         ::testing::Values(Kind::SqliteFile, Kind::Postgres, Kind::MariaDb),
                         kind_name);
INSTANTIATE_TEST_SUITE_P(Servers, DatabaseOutageTest,
                         ::testing::Values(Kind::Postgres, Kind::MariaDb), kind_name);

// ---- configuration and identifiers, no server needed ----

TEST(DatabaseBackendConfig, RefusesUnsafeIdentifiersAtTheirKey) {
  for (const std::string key : {"table_name", "id_column", "username_column", "password_column",
                                "realm_column", "enabled_column", "display_name_column",
                                "ha1_column"}) {
    auto cfg = backend_config("type = \"database\"\nurl = \"sqlite::memory:\"\n" + key +
                              " = \"users; DROP TABLE users\"\n");
    config::Diagnostics diagnostics;
    EXPECT_EQ(make_backend(cfg, diagnostics), nullptr) << key;
    EXPECT_TRUE(has_diagnostic(diagnostics, config::Diagnostic::Severity::Error,
                               "proxy.user_backends[0]." + key, "not a valid SQL identifier"))
        << key;
  }
}

TEST(DatabaseBackendConfig, SchemaQualifiedTableAndQuotingPerDialect) {
  DatabaseBackendOptions options;
  options.url = "sqlite::memory:";
  options.table_name = "main.users";
  options.realm_column = "realm";
  std::string error;
  auto sqlite = DatabaseBackend::create(options, error);
  ASSERT_NE(sqlite, nullptr) << error;
  EXPECT_EQ(sqlite->query(),
            "SELECT \"username\", \"password\", \"realm\" FROM \"main\".\"users\" WHERE "
            "\"username\" = :username LIMIT 16");
  // A MySQL URL quotes with backticks; nothing listens, which is not a
  // configuration error (lookups answer errors until it is reachable).
  options.url = "mysql://u:pw@127.0.0.1:" + std::to_string(cppbx::testing::free_loopback_port()) +
                "/pbx";
  options.id_column = "id";
  options.timeout = std::chrono::milliseconds(500);
  auto mysql = DatabaseBackend::create(options, error);
  ASSERT_NE(mysql, nullptr) << error;
  EXPECT_EQ(mysql->query(),
            "SELECT `username`, `password`, `realm` FROM `main`.`users` WHERE `username` = "
            ":username ORDER BY `id` LIMIT 16");
  LookupResult result = lookup_sync(*mysql, "alice");
  EXPECT_EQ(result.outcome, LookupOutcome::Error);
  EXPECT_EQ(result.detail.find(":pw@"), std::string::npos) << result.detail;
}

TEST(DatabaseBackendConfig, BoundsAndTypesOfNumbers) {
  for (const char* entry : {"timeout_ms = 0\n", "max_in_flight = -1\n", "pool_size = 1000\n",
                            "pool_size = \"4\"\n", "table_name = 5\n"}) {
    auto cfg = backend_config(std::string("type = \"database\"\nurl = \"sqlite::memory:\"\n") +
                              entry);
    config::Diagnostics diagnostics;
    EXPECT_EQ(make_backend(cfg, diagnostics), nullptr) << entry;
    EXPECT_TRUE(diagnostics.has_errors()) << entry;
  }
}

TEST(DatabaseBackendConfig, BadUrlIsAConfigErrorWithoutThePassword) {
  auto cfg = backend_config("type = \"database\"\nurl = \"postgres://u:hunter2@db:99999/x\"\n");
  config::Diagnostics diagnostics;
  EXPECT_EQ(make_backend(cfg, diagnostics), nullptr);
  ASSERT_TRUE(diagnostics.has_errors());
  for (const auto& item : diagnostics.all()) {
    EXPECT_EQ(item.message.find("hunter2"), std::string::npos) << item.message;
  }
}

TEST(DatabaseBackendConfig, InMemorySqliteWithoutATableAnswersErrors) {
  auto cfg = backend_config("type = \"database\"\nurl = \"sqlite::memory:\"\n");
  config::Diagnostics diagnostics;
  auto users = make_backend(cfg, diagnostics);
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(lookup_sync(*users, "alice").outcome, LookupOutcome::Error);
}

TEST(DatabaseBackendTruthy, AcceptedSpellings) {
  for (const char* yes : {"1", "true", "True", "t", "T", "yes", "YES", " 1 ", "\x01"}) {
    EXPECT_TRUE(truthy(yes)) << yes;
  }
  for (const char* no : {"0", "false", "f", "no", "", "on", "2", "yess", "\x02"}) {
    EXPECT_FALSE(truthy(no)) << no;
  }
}

}  // namespace
}  // namespace cppbx::users
