// storage::Database against real PostgreSQL 15 and MariaDB servers started
// by the test (tests/support/db_servers.hpp): migrations, the catalogue check
// that replaced sqlite_master, quoting, and reconnecting after the server was
// stopped and started again. One server per dialect for the whole suite.
#include "storage/database.hpp"
#include "support/db_servers.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace cppbx::storage {
namespace {

using cppbx::testing::DbServer;
using cppbx::testing::MariaDbServer;
using cppbx::testing::PostgresServer;

enum class Server { Postgres, MariaDb };

std::string server_name(const ::testing::TestParamInfo<Server>& info) {
  return info.param == Server::Postgres ? "Postgres" : "MariaDb";
}

class ServerDatabaseTest : public ::testing::TestWithParam<Server> {
 protected:
  static std::unique_ptr<DbServer>& server(Server kind) {
    static std::unique_ptr<DbServer> postgres;
    static std::unique_ptr<DbServer> mariadb;
    return kind == Server::Postgres ? postgres : mariadb;
  }

  void SetUp() override {
    if (GetParam() == Server::Postgres && !PostgresServer::available()) {
      GTEST_SKIP() << PostgresServer::missing_message();
    }
    if (GetParam() == Server::MariaDb && !MariaDbServer::available()) {
      GTEST_SKIP() << MariaDbServer::missing_message();
    }
    auto& instance = server(GetParam());
    if (!instance) {
      if (GetParam() == Server::Postgres) instance = std::make_unique<PostgresServer>();
      else instance = std::make_unique<MariaDbServer>();
    }
    std::string error;
    ASSERT_TRUE(instance->start(error)) << error;
    // Each test starts from an empty database.
    std::string open_error;
    auto database = Database::open_unmigrated(instance->url(), open_error);
    ASSERT_NE(database, nullptr) << open_error;
    database->with_session([](soci::session& sql) {
      for (const char* table : {"schema_migrations", "extensions", "alpha", "half", "never"}) {
        sql << std::string("DROP TABLE IF EXISTS ") + table;
      }
      return 0;
    });
  }

  static void TearDownTestSuite() {
    server(Server::Postgres).reset();
    server(Server::MariaDb).reset();
  }

  DbServer& db() { return *server(GetParam()); }
  Dialect expected_dialect() const {
    return GetParam() == Server::Postgres ? Dialect::Postgresql : Dialect::Mysql;
  }

  static bool table_exists(Database& database, const std::string& name) {
    return database.with_session([&](soci::session& sql) {
      long long count = 0;
      sql << "SELECT count(*) FROM information_schema.tables WHERE table_name = :name",
          soci::use(name), soci::into(count);
      return count > 0;
    });
  }
};

TEST_P(ServerDatabaseTest, OpensWithThePasswordAndMigrates) {
  std::string error;
  auto database = Database::open(db().url(), {.pool_size = 2}, error);
  ASSERT_NE(database, nullptr) << error;
  EXPECT_EQ(database->dialect(), expected_dialect());
  EXPECT_EQ(database->pool_size(), 2u);
  EXPECT_EQ(database->schema_version(), builtin_migrations().back().version);
  EXPECT_TRUE(table_exists(*database, "schema_migrations"));
  EXPECT_EQ(database->description().find(db().password()), std::string::npos);
  // Opening again applies nothing new.
  auto again = Database::open(db().url(), error);
  ASSERT_NE(again, nullptr) << error;
  int rows = again->with_session([](soci::session& sql) {
    int count = 0;
    sql << "SELECT count(*) FROM schema_migrations", soci::into(count);
    return count;
  });
  EXPECT_EQ(rows, static_cast<int>(builtin_migrations().size()));
}

TEST_P(ServerDatabaseTest, WrongPasswordIsRefusedWithoutEchoingIt) {
  std::string url = db().url();
  std::string wrong = url;
  wrong.replace(wrong.find("s3cret"), 6, "w7rong");
  std::string error;
  EXPECT_EQ(Database::open(wrong, error), nullptr);
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
  EXPECT_EQ(error.find("w7rong"), std::string::npos) << error;
}

TEST_P(ServerDatabaseTest, PerDialectStatementsAndARepeatableFailedMigration) {
  std::string error;
  auto database = Database::open(db().url(), error);
  ASSERT_NE(database, nullptr) << error;
  const int base = builtin_migrations().back().version;
  std::vector<Migration> migrations = builtin_migrations();
  Migration alpha{base + 1, "alpha", {"CREATE TABLE IF NOT EXISTS alpha (id INTEGER)"}};
  alpha.postgresql = {"CREATE TABLE IF NOT EXISTS alpha (id SERIAL PRIMARY KEY, v TEXT)"};
  alpha.mysql = {"CREATE TABLE IF NOT EXISTS alpha (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)"};
  migrations.push_back(alpha);
  migrations.push_back({base + 2, "broken",
                        {"CREATE TABLE IF NOT EXISTS half (id INTEGER)", "THIS IS NOT SQL"}});
  ASSERT_FALSE(database->migrate(migrations, error));
  EXPECT_NE(error.find("broken"), std::string::npos) << error;
  std::vector<int> expected;
  for (const auto& m : builtin_migrations()) expected.push_back(m.version);
  expected.push_back(base + 1);
  EXPECT_EQ(database->applied_versions(), expected);
  // The dialect's own statement ran: the id fills itself in.
  database->with_session([](soci::session& sql) {
    sql << "INSERT INTO alpha (v) VALUES ('x')";
    return 0;
  });
  int id = database->with_session([](soci::session& sql) {
    int value = 0;
    sql << "SELECT id FROM alpha", soci::into(value);
    return value;
  });
  EXPECT_EQ(id, 1);
  // Fixing the broken step and migrating again works even where the first
  // statement was committed (MySQL): it is repeatable.
  migrations.back().statements = {"CREATE TABLE IF NOT EXISTS half (id INTEGER)"};
  ASSERT_TRUE(database->migrate(migrations, error)) << error;
  EXPECT_EQ(database->schema_version(), base + 2);
}

TEST_P(ServerDatabaseTest, ReconnectsAfterTheServerComesBack) {
  std::string error;
  auto database = Database::open(db().url(), {.pool_size = 2, .timeout = std::chrono::seconds(2)},
                                 error);
  ASSERT_NE(database, nullptr) << error;
  auto read_version = [&] {
    return database->with_session_retried([](soci::session& sql) {
      int version = 0;
      sql << "SELECT max(version) FROM schema_migrations", soci::into(version);
      return version;
    });
  };
  const int newest = builtin_migrations().back().version;
  EXPECT_EQ(read_version(), newest);
  db().stop();
  EXPECT_ANY_THROW(read_version());
  EXPECT_ANY_THROW(read_version());
  ASSERT_TRUE(db().start(error)) << error;
  // Both pooled sessions lost their connection; each read must still work.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(read_version(), newest) << "read " << i;
}

INSTANTIATE_TEST_SUITE_P(Servers, ServerDatabaseTest,
                         ::testing::Values(Server::Postgres, Server::MariaDb), server_name);

}  // namespace
}  // namespace cppbx::storage
