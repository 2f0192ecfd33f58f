// Database tests run against real SQLite files in a temp folder (and
// :memory:), checking what the schema_migrations table actually holds.
#include "storage/database.hpp"
#include "support/db_servers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <fstream>

namespace cppbx::storage {
namespace {

namespace fs = std::filesystem;

// Other features append migrations; these tests add theirs after the newest.
std::vector<int> builtin_versions() {
  std::vector<int> versions;
  for (const Migration& migration : builtin_migrations()) versions.push_back(migration.version);
  return versions;
}
int newest_builtin() { return builtin_migrations().back().version; }

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cppbx storage " + std::to_string(::getpid()) + " " +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string url_of(const std::string& file) { return "sqlite://" + (dir_ / file).string(); }

  std::unique_ptr<Database> open_ok(const std::string& url) {
    std::string error;
    auto database = Database::open(url, error);
    EXPECT_NE(database, nullptr) << error;
    return database;
  }

  static bool table_exists(Database& database, const std::string& name) {
    return database.with_session([&](soci::session& sql) {
      int count = 0;
      sql << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = :name",
          soci::use(name), soci::into(count);
      return count == 1;
    });
  }

  static Migration create_table(int version, const std::string& table) {
    return {version, "create " + table, {"CREATE TABLE " + table + " (id INTEGER PRIMARY KEY)"}};
  }

  fs::path dir_;  // has spaces, so paths are quoted correctly for SOCI
};

TEST(SqliteUrl, AcceptsTheSqliteForms) {
  std::string error;
  EXPECT_EQ(sqlite_path_from_url("sqlite://cppbx.sqlite3", error), "cppbx.sqlite3");
  EXPECT_EQ(sqlite_path_from_url("sqlite:///var/lib/cppbx/db.sqlite3", error),
            "/var/lib/cppbx/db.sqlite3");
  EXPECT_EQ(sqlite_path_from_url("sqlite://rustpbx.sqlite3?mode=rwc", error), "rustpbx.sqlite3");
  EXPECT_EQ(sqlite_path_from_url("sqlite:relative.db", error), "relative.db");
  EXPECT_EQ(sqlite_path_from_url("sqlite::memory:", error), ":memory:");
  EXPECT_EQ(sqlite_path_from_url("sqlite://:memory:", error), ":memory:");
}

TEST(SqliteUrl, RefusesOtherDatabasesWithoutEchoingCredentials) {
  for (const char* url : {"mysql://root:hunter2@db:3306/pbx", "postgres://u:hunter2@db/pbx",
                          "postgresql://u:hunter2@db/pbx"}) {
    std::string error;
    EXPECT_FALSE(sqlite_path_from_url(url, error).has_value()) << url;
    EXPECT_NE(error.find("not built yet"), std::string::npos) << error;
    EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  }
}

TEST(SqliteUrl, RefusesMalformedUrls) {
  for (const char* url : {"", "sqlite:", "sqlite://", "sqlite://?mode=rwc", "file.db", "oracle://x",
                          "sqlite://a\"b.db"}) {
    std::string error;
    EXPECT_FALSE(sqlite_path_from_url(url, error).has_value()) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
}

TEST_F(DatabaseTest, OpenCreatesTheFileAndRecordsMigrationOne) {
  auto database = open_ok(url_of("new.sqlite3"));
  ASSERT_NE(database, nullptr);
  EXPECT_TRUE(fs::exists(dir_ / "new.sqlite3"));
  EXPECT_EQ(database->applied_versions(), builtin_versions());
  EXPECT_EQ(database->schema_version(), newest_builtin());
  std::string applied_at = database->with_session([](soci::session& sql) {
    std::string value;
    sql << "SELECT applied_at FROM schema_migrations WHERE version = 1", soci::into(value);
    return value;
  });
  EXPECT_EQ(applied_at.size(), 20u) << applied_at;  // 2026-01-02T03:04:05Z
  EXPECT_EQ(applied_at.back(), 'Z');
}

TEST_F(DatabaseTest, ReopeningIsANoOp) {
  std::string url = url_of("again.sqlite3");
  std::string first_applied_at;
  {
    auto database = open_ok(url);
    ASSERT_NE(database, nullptr);
    first_applied_at = database->with_session([](soci::session& sql) {
      std::string value;
      sql << "SELECT applied_at FROM schema_migrations WHERE version = 1", soci::into(value);
      return value;
    });
  }
  auto database = open_ok(url);
  ASSERT_NE(database, nullptr);
  int rows = database->with_session([](soci::session& sql) {
    int count = 0;
    sql << "SELECT count(*) FROM schema_migrations", soci::into(count);
    return count;
  });
  EXPECT_EQ(rows, static_cast<int>(builtin_migrations().size()));
  std::string applied_at = database->with_session([](soci::session& sql) {
    std::string value;
    sql << "SELECT applied_at FROM schema_migrations WHERE version = 1", soci::into(value);
    return value;
  });
  EXPECT_EQ(applied_at, first_applied_at);
}

TEST_F(DatabaseTest, AppliesOnlyMissingMigrationsInOrder) {
  auto database = open_ok(url_of("grow.sqlite3"));
  ASSERT_NE(database, nullptr);
  std::vector<Migration> migrations = builtin_migrations();
  const int base = newest_builtin();
  migrations.push_back(create_table(base + 1, "alpha"));
  migrations.push_back(create_table(base + 2, "beta"));
  std::string error;
  ASSERT_TRUE(database->migrate(migrations, error)) << error;
  std::vector<int> expected = builtin_versions();
  expected.push_back(base + 1);
  expected.push_back(base + 2);
  EXPECT_EQ(database->applied_versions(), expected);
  EXPECT_TRUE(table_exists(*database, "alpha"));
  EXPECT_TRUE(table_exists(*database, "beta"));
  // A second run would fail on CREATE TABLE if it re-applied anything.
  ASSERT_TRUE(database->migrate(migrations, error)) << error;
  EXPECT_EQ(database->schema_version(), base + 2);
}

TEST_F(DatabaseTest, FailedMigrationIsRolledBackAndNotRecorded) {
  auto database = open_ok(url_of("fail.sqlite3"));
  ASSERT_NE(database, nullptr);
  std::vector<Migration> migrations = builtin_migrations();
  const int base = newest_builtin();
  migrations.push_back(create_table(base + 1, "kept"));
  migrations.push_back({base + 2, "broken", {"CREATE TABLE half (id INTEGER)", "THIS IS NOT SQL"}});
  migrations.push_back(create_table(base + 3, "never"));
  std::string error;
  EXPECT_FALSE(database->migrate(migrations, error));
  EXPECT_NE(error.find(fmt::format("migration {} (broken)", base + 2)), std::string::npos) << error;
  std::vector<int> expected = builtin_versions();
  expected.push_back(base + 1);
  EXPECT_EQ(database->applied_versions(), expected);
  EXPECT_TRUE(table_exists(*database, "kept"));
  EXPECT_FALSE(table_exists(*database, "half"));
  EXPECT_FALSE(table_exists(*database, "never"));
}

TEST_F(DatabaseTest, RefusesADatabaseFromANewerVersion) {
  std::string url = url_of("newer.sqlite3");
  {
    auto database = open_ok(url);
    ASSERT_NE(database, nullptr);
    std::vector<Migration> future = builtin_migrations();
    future.push_back(create_table(newest_builtin() + 5, "future"));
    std::string error;
    ASSERT_TRUE(database->migrate(future, error)) << error;
  }
  std::string error;
  EXPECT_EQ(Database::open(url, error), nullptr);
  EXPECT_NE(error.find("newer"), std::string::npos) << error;
}

TEST_F(DatabaseTest, RefusesAnUnorderedMigrationList) {
  auto database = open_ok("sqlite::memory:");
  ASSERT_NE(database, nullptr);
  std::vector<Migration> migrations = builtin_migrations();
  migrations.push_back(create_table(newest_builtin() + 2, "c"));
  migrations.push_back(create_table(newest_builtin() + 1, "b"));
  std::string error;
  EXPECT_FALSE(database->migrate(migrations, error));
  EXPECT_FALSE(table_exists(*database, "c"));
}

TEST_F(DatabaseTest, InMemoryDatabaseIsMigrated) {
  auto database = open_ok("sqlite::memory:");
  ASSERT_NE(database, nullptr);
  EXPECT_EQ(database->sqlite_path(), ":memory:");
  EXPECT_EQ(database->schema_version(), newest_builtin());
}

TEST_F(DatabaseTest, UnopenableFileIsAnErrorNotACrash) {
  std::string error;
  auto database = Database::open(url_of("no such folder/db.sqlite3"), error);
  EXPECT_EQ(database, nullptr);
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST_F(DatabaseTest, NonDatabaseFileIsAnErrorNotACrash) {
  std::ofstream(dir_ / "text.sqlite3") << std::string(4096, 'x');
  std::string error;
  EXPECT_EQ(Database::open(url_of("text.sqlite3"), error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST_F(DatabaseTest, ThrowingConstructorOpensAndMigrates) {
  Database database(url_of("ctor.sqlite3"));
  EXPECT_EQ(database.schema_version(), newest_builtin());
  EXPECT_TRUE(fs::exists(dir_ / "ctor.sqlite3"));
}

TEST_F(DatabaseTest, ThrowingConstructorReportsTheProblem) {
  // A server URL on a loopback port where nothing listens: refused at once.
  std::string url = "postgres://u:secret@127.0.0.1:" +
                    std::to_string(cppbx::testing::free_loopback_port()) + "/pbx";
  try {
    Database database(url);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open postgresql"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Database(url_of("no such folder/x.sqlite3")), std::runtime_error);
}

TEST_F(DatabaseTest, UnreachableMysqlIsAnErrorWithoutThePassword) {
  std::string error;
  std::string url = "mysql://root:hunter2@127.0.0.1:" +
                    std::to_string(cppbx::testing::free_loopback_port()) + "/pbx";
  EXPECT_EQ(Database::open(url, error), nullptr);
  EXPECT_NE(error.find("cannot open mysql"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

TEST_F(DatabaseTest, SqliteFilePoolHasTheRequestedSessionsAndMemoryOnlyOne) {
  std::string error;
  auto file = Database::open(url_of("pool.sqlite3"), {.pool_size = 3}, error);
  ASSERT_NE(file, nullptr) << error;
  EXPECT_EQ(file->pool_size(), 3u);
  EXPECT_EQ(file->dialect(), Dialect::Sqlite);
  // Every pooled session sees the same migrated file.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(file->schema_version(), newest_builtin());
  auto memory = Database::open("sqlite::memory:", {.pool_size = 3}, error);
  ASSERT_NE(memory, nullptr) << error;
  EXPECT_EQ(memory->pool_size(), 1u);
}

TEST_F(DatabaseTest, QuotesCheckedIdentifiers) {
  auto database = open_ok("sqlite::memory:");
  ASSERT_NE(database, nullptr);
  EXPECT_EQ(database->quote_identifier("users"), "\"users\"");
  EXPECT_EQ(database->quote_identifier("auth.sip_users"), "\"auth\".\"sip_users\"");
  EXPECT_EQ(database->quote_identifier("_x9"), "\"_x9\"");
  for (const char* bad : {"", "9users", "users;drop", "a b", "a\"b", "a.b.c", ".a", "a.",
                          "users--", "`x`"}) {
    EXPECT_EQ(database->quote_identifier(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace cppbx::storage
