// The extensions migration and ExtensionStore on real PostgreSQL 15 and
// MariaDB servers (tests/support/db_servers.hpp), so the schema and the
// queries stay portable: typed reads of SMALLINT/BIGINT columns, the unique
// key on a VARCHAR column, quotes in values, ordering. One server per dialect
// for the whole suite; each test starts from an empty database.
#include "storage/extension_store.hpp"
#include "support/db_servers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

namespace cppbx::storage {
namespace {

using cppbx::testing::DbServer;
using cppbx::testing::MariaDbServer;
using cppbx::testing::PostgresServer;
using Kind = StoreStatus::Kind;

enum class Server { Postgres, MariaDb };

std::string server_name(const ::testing::TestParamInfo<Server>& info) {
  return info.param == Server::Postgres ? "Postgres" : "MariaDb";
}

class ExtensionStoreServerTest : public ::testing::TestWithParam<Server> {
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
    ASSERT_TRUE(instance->start(error)) << error << "\n" << instance->log_tail();
    auto empty = Database::open_unmigrated(instance->url(), error);
    ASSERT_NE(empty, nullptr) << error;
    empty->with_session([](soci::session& sql) {
      for (const char* table : {"schema_migrations", "extensions"}) {
        sql << std::string("DROP TABLE IF EXISTS ") + table;
      }
      return 0;
    });
    database_ = Database::open(instance->url(), error);
    ASSERT_NE(database_, nullptr) << error;
    store_ = std::make_unique<ExtensionStore>(*database_, &changes_);
  }

  static void TearDownTestSuite() {
    server(Server::Postgres).reset();
    server(Server::MariaDb).reset();
  }

  Extension make(const std::string& name, const std::string& password) {
    Extension extension;
    extension.extension = name;
    extension.sip_password = password;
    return extension;
  }

  ExtensionChanges changes_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<ExtensionStore> store_;
};

TEST_P(ExtensionStoreServerTest, MigrationCreatesTheTable) {
  auto versions = database_->applied_versions();
  EXPECT_NE(std::find(versions.begin(), versions.end(), 2), versions.end());
  int rows = database_->with_session([](soci::session& sql) {
    int count = -1;
    sql << "SELECT count(*) FROM extensions", soci::into(count);
    return count;
  });
  EXPECT_EQ(rows, 0);
}

TEST_P(ExtensionStoreServerTest, EveryOperationRoundTrips) {
  Extension alice = make("1001", "it's a \"quoted\" \\ password;--");
  alice.display_name = "Alice O'Hara";
  alice.email = "alice@example.com";
  alice.allow_guest_calls = true;
  alice.call_forwarding_mode = "no_answer";
  alice.call_forwarding_destination = "1002";
  alice.call_forwarding_timeout = 15;
  ASSERT_TRUE(store_->add(alice).ok());
  ASSERT_TRUE(store_->add(make("1000", "pw-1000")).ok());

  Extension found;
  StoreStatus status = store_->find("1001", found);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_GT(found.id, 0);
  EXPECT_EQ(found.sip_password, alice.sip_password);
  EXPECT_EQ(found.display_name, "Alice O'Hara");
  EXPECT_EQ(found.email, "alice@example.com");
  EXPECT_FALSE(found.login_disabled);
  EXPECT_TRUE(found.allow_guest_calls);
  EXPECT_EQ(found.call_forwarding_mode, "no_answer");
  EXPECT_EQ(found.call_forwarding_destination, "1002");
  EXPECT_EQ(found.call_forwarding_timeout, 15);
  EXPECT_EQ(found.created_at.size(), 20u);

  EXPECT_EQ(store_->add(make("1001", "again")).kind, Kind::Duplicate);
  ASSERT_TRUE(store_->set_enabled("1001", false).ok());
  ASSERT_TRUE(store_->set_enabled("1001", false).ok());  // unchanged row: still found
  ASSERT_TRUE(store_->find("1001", found).ok());
  EXPECT_TRUE(found.login_disabled);
  ASSERT_TRUE(store_->set_password("1001", "new-pass").ok());
  ASSERT_TRUE(store_->find("1001", found).ok());
  EXPECT_EQ(found.sip_password, "new-pass");

  std::vector<Extension> all;
  ASSERT_TRUE(store_->list(all).ok());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].extension, "1000");
  EXPECT_EQ(all[1].extension, "1001");

  ASSERT_TRUE(store_->remove("1001").ok());
  EXPECT_EQ(store_->find("1001", found).kind, Kind::NotFound);
  EXPECT_EQ(store_->remove("1001").kind, Kind::NotFound);
}

TEST_P(ExtensionStoreServerTest, ReopeningDoesNotReapplyTheMigration) {
  ASSERT_TRUE(store_->add(make("1001", "pw")).ok());
  store_.reset();
  std::string error;
  database_ = Database::open(server(GetParam())->url(), error);
  ASSERT_NE(database_, nullptr) << error;
  ExtensionStore again(*database_, &changes_);
  Extension found;
  EXPECT_TRUE(again.find("1001", found).ok());
}

INSTANTIATE_TEST_SUITE_P(Servers, ExtensionStoreServerTest,
                         ::testing::Values(Server::Postgres, Server::MariaDb), server_name);

}  // namespace
}  // namespace cppbx::storage
