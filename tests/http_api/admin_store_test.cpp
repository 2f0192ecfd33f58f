// The administrator store on a real SQLite file in a temporary folder:
// create, reset, verify, hashes in PHC argon2id form with a fresh salt,
// refusals for unknown names and bad input, and the password nowhere in the
// table.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/random.hpp"
#include "storage/admin_store.hpp"

namespace cppbx::storage {
namespace {

// Small cost so the suite stays quick; the production cost is the default.
constexpr AdminHashCost kTestCost{1, 1024, 1};

class AdminStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cppbx-admin-" + random::hex(6));
    std::filesystem::create_directories(dir_);
    std::string error;
    database_ = Database::open("sqlite://" + (dir_ / "db.sqlite3").string(), error);
    ASSERT_TRUE(database_) << error;
    store_ = std::make_unique<AdminStore>(*database_, kTestCost);
  }
  void TearDown() override {
    store_.reset();
    database_.reset();
    std::filesystem::remove_all(dir_);
  }
  AdminVerdict verify(const std::string& user, const std::string& password) {
    std::string detail;
    return store_->verify(user, password, detail);
  }
  std::string stored_hash(const std::string& user) {
    return database_->with_session([&](soci::session& sql) {
      std::string hash;
      sql << "SELECT password_hash FROM admins WHERE username = :u", soci::into(hash), soci::use(user);
      return hash;
    });
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<AdminStore> store_;
};

TEST_F(AdminStoreTest, CreateThenVerify) {
  bool created = false;
  ASSERT_TRUE(store_->set_password("admin", "correct horse", created).ok());
  EXPECT_TRUE(created);
  EXPECT_EQ(store_->count(), 1);
  EXPECT_EQ(verify("admin", "correct horse"), AdminVerdict::Accepted);
  EXPECT_EQ(verify("admin", "correct hors"), AdminVerdict::Refused);
  EXPECT_EQ(verify("admin", "Correct horse"), AdminVerdict::Refused);
  EXPECT_EQ(verify("nobody", "correct horse"), AdminVerdict::Refused);
}

TEST_F(AdminStoreTest, ResetReplacesThePassword) {
  bool created = false;
  ASSERT_TRUE(store_->set_password("admin", "first password", created).ok());
  ASSERT_TRUE(store_->set_password("admin", "second password", created).ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(store_->count(), 1);
  EXPECT_EQ(verify("admin", "first password"), AdminVerdict::Refused);
  EXPECT_EQ(verify("admin", "second password"), AdminVerdict::Accepted);
}

TEST_F(AdminStoreTest, StoresAnArgon2idHashNeverThePassword) {
  bool created = false;
  ASSERT_TRUE(store_->set_password("admin", "correct horse", created).ok());
  ASSERT_TRUE(store_->set_password("other", "correct horse", created).ok());
  const std::string first = stored_hash("admin");
  const std::string second = stored_hash("other");
  EXPECT_EQ(first.rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << first;
  EXPECT_NE(first, second) << "each hash has its own salt";
  EXPECT_EQ(first.find("correct horse"), std::string::npos);
  std::ifstream file(dir_ / "db.sqlite3", std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  EXPECT_EQ(bytes.str().find("correct horse"), std::string::npos);
}

TEST_F(AdminStoreTest, ProductionCostIsEncodedInTheHash) {
  std::string hash = hash_admin_password("correct horse");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=65536,t=3,p=1$", 0), 0u) << hash;
  EXPECT_TRUE(admin_password_matches(hash, "correct horse"));
  EXPECT_FALSE(admin_password_matches(hash, "correct horsE"));
  EXPECT_FALSE(admin_password_matches("not a hash", "correct horse"));
  EXPECT_FALSE(admin_password_matches("$argon2id$v=19$m=1024,t=1,p=1$AAAA$BBBB", "x"));
}

TEST_F(AdminStoreTest, RefusesBadNamesAndShortPasswords) {
  bool created = false;
  auto short_password = store_->set_password("admin", "short", created);
  EXPECT_EQ(short_password.kind, StoreStatus::Kind::Invalid);
  EXPECT_EQ(short_password.message.find("short"), std::string::npos) << "the password is not repeated";
  EXPECT_EQ(store_->set_password("bad name", "long enough", created).kind, StoreStatus::Kind::Invalid);
  EXPECT_EQ(store_->set_password("", "long enough", created).kind, StoreStatus::Kind::Invalid);
  EXPECT_EQ(store_->set_password(std::string(65, 'a'), "long enough", created).kind, StoreStatus::Kind::Invalid);
  EXPECT_EQ(store_->count(), 0);
  EXPECT_EQ(verify("bad name", "long enough"), AdminVerdict::Refused);
}

TEST_F(AdminStoreTest, NameWithSqlIsJustAName) {
  bool created = false;
  EXPECT_EQ(store_->set_password("a'--", "long enough", created).kind, StoreStatus::Kind::Invalid);
  ASSERT_TRUE(store_->set_password("ops@example.com", "long enough", created).ok());
  EXPECT_EQ(verify("ops@example.com", "long enough"), AdminVerdict::Accepted);
  EXPECT_EQ(verify("' OR 1=1 --", "long enough"), AdminVerdict::Refused);
}

}  // namespace
}  // namespace cppbx::storage
