// ExtensionStore against a real SQLite file in a temp folder: the migration,
// every operation, validation, duplicates, unknown names, values that look
// like SQL, and the change notifications (only for changes that happened).
#include "storage/extension_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cppbx::storage {
namespace {

namespace fs = std::filesystem;
using Kind = StoreStatus::Kind;

Extension make(const std::string& name, const std::string& password = "s3cret-pass") {
  Extension extension;
  extension.extension = name;
  extension.sip_password = password;
  return extension;
}

class ExtensionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cppbx extstore " + std::to_string(::getpid()) + " " +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::string error;
    database_ = Database::open(url(), error);
    ASSERT_NE(database_, nullptr) << error;
    store_ = std::make_unique<ExtensionStore>(*database_, &changes_);
    subscription_ = changes_.subscribe([this](const std::string& name) { changed_.push_back(name); });
  }
  void TearDown() override {
    subscription_.reset();
    store_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }

  std::string url() const { return "sqlite://" + (dir_ / "pbx.sqlite3").string(); }

  Extension find_ok(const std::string& name) {
    Extension out;
    StoreStatus status = store_->find(name, out);
    EXPECT_TRUE(status.ok()) << status.message;
    return out;
  }

  fs::path dir_;
  ExtensionChanges changes_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<ExtensionStore> store_;
  std::unique_ptr<ExtensionChanges::Subscription> subscription_;
  std::vector<std::string> changed_;
};

TEST_F(ExtensionStoreTest, MigrationCreatesTheTableOnceAndReopeningKeepsRows) {
  ASSERT_TRUE(store_->add(make("1001")).ok());
  const int version = database_->schema_version();
  EXPECT_GE(version, 2);
  store_.reset();
  database_.reset();
  std::string error;
  database_ = Database::open(url(), error);
  ASSERT_NE(database_, nullptr) << error;
  EXPECT_EQ(database_->schema_version(), version);
  store_ = std::make_unique<ExtensionStore>(*database_, &changes_);
  EXPECT_EQ(find_ok("1001").sip_password, "s3cret-pass");
}

TEST_F(ExtensionStoreTest, AddThenFindReturnsEveryField) {
  Extension extension = make("1001", "pa'ss\"word; DROP TABLE extensions;--");
  extension.display_name = "Alice O'Hara";
  extension.email = "alice@example.com";
  extension.allow_guest_calls = true;
  extension.call_forwarding_mode = "no_answer";
  extension.call_forwarding_destination = "sip:voicemail@example.com";
  extension.call_forwarding_timeout = 25;
  StoreStatus status = store_->add(extension);
  ASSERT_TRUE(status.ok()) << status.message;

  Extension found = find_ok("1001");
  EXPECT_GT(found.id, 0);
  EXPECT_EQ(found.extension, "1001");
  EXPECT_EQ(found.sip_password, extension.sip_password);
  EXPECT_EQ(found.display_name, "Alice O'Hara");
  EXPECT_EQ(found.email, "alice@example.com");
  EXPECT_FALSE(found.login_disabled);
  EXPECT_TRUE(found.allow_guest_calls);
  EXPECT_EQ(found.call_forwarding_mode, "no_answer");
  EXPECT_EQ(found.call_forwarding_destination, "sip:voicemail@example.com");
  EXPECT_EQ(found.call_forwarding_timeout, 25);
  EXPECT_EQ(found.created_at.size(), 20u) << found.created_at;
  EXPECT_EQ(found.created_at, found.updated_at);
}

TEST_F(ExtensionStoreTest, DuplicateIsRefusedAndKeepsTheFirst) {
  ASSERT_TRUE(store_->add(make("1001", "first-pass")).ok());
  StoreStatus status = store_->add(make("1001", "second-pass"));
  EXPECT_EQ(status.kind, Kind::Duplicate);
  EXPECT_NE(status.message.find("already exists"), std::string::npos) << status.message;
  EXPECT_EQ(status.message.find("second-pass"), std::string::npos);
  EXPECT_EQ(find_ok("1001").sip_password, "first-pass");
}

TEST_F(ExtensionStoreTest, InvalidNamesAreRefusedBeforeSql) {
  for (std::string bad : {std::string(), std::string("10 01"), std::string("1001' OR '1'='1"),
                          std::string("a/b"), std::string("caf\xc3\xa9"),
                          std::string(kMaxExtensionLength + 1, '1')}) {
    StoreStatus status = store_->add(make(bad));
    EXPECT_EQ(status.kind, Kind::Invalid) << bad;
    Extension out;
    EXPECT_EQ(store_->find(bad, out).kind, Kind::Invalid) << bad;
    EXPECT_EQ(store_->remove(bad).kind, Kind::Invalid) << bad;
  }
  EXPECT_TRUE(store_->add(make(std::string(kMaxExtensionLength, '7'))).ok());
  EXPECT_TRUE(store_->add(make("alice.smith_2-x")).ok());
  std::vector<Extension> all;
  ASSERT_TRUE(store_->list(all).ok());
  EXPECT_EQ(all.size(), 2u);
}

TEST_F(ExtensionStoreTest, InvalidFieldsAreRefusedWithoutEchoingThePassword) {
  Extension no_password = make("1001", "");
  EXPECT_EQ(store_->add(no_password).kind, Kind::Invalid);

  Extension control = make("1001", "bad\npassword");
  StoreStatus status = store_->add(control);
  EXPECT_EQ(status.kind, Kind::Invalid);
  EXPECT_EQ(status.message.find("bad\npassword"), std::string::npos);

  Extension long_password = make("1001", std::string(kMaxSipPasswordLength + 1, 'p'));
  EXPECT_EQ(store_->add(long_password).kind, Kind::Invalid);

  Extension email = make("1001");
  email.email = "not-an-address";
  EXPECT_EQ(store_->add(email).kind, Kind::Invalid);

  Extension mode = make("1001");
  mode.call_forwarding_mode = "sometimes";
  EXPECT_EQ(store_->add(mode).kind, Kind::Invalid);

  Extension no_destination = make("1001");
  no_destination.call_forwarding_mode = "always";
  EXPECT_EQ(store_->add(no_destination).kind, Kind::Invalid);

  std::vector<Extension> all;
  ASSERT_TRUE(store_->list(all).ok());
  EXPECT_TRUE(all.empty());
  EXPECT_TRUE(changed_.empty());
}

TEST_F(ExtensionStoreTest, UnknownExtensionIsNotFoundEverywhere) {
  ASSERT_TRUE(store_->add(make("1001")).ok());
  changed_.clear();
  Extension out;
  EXPECT_EQ(store_->find("1002", out).kind, Kind::NotFound);
  EXPECT_EQ(store_->remove("1002").kind, Kind::NotFound);
  EXPECT_EQ(store_->set_password("1002", "new-pass").kind, Kind::NotFound);
  EXPECT_EQ(store_->set_enabled("1002", false).kind, Kind::NotFound);
  EXPECT_EQ(store_->update(make("1002")).kind, Kind::NotFound);
  EXPECT_TRUE(changed_.empty());
  EXPECT_EQ(find_ok("1001").sip_password, "s3cret-pass");
}

TEST_F(ExtensionStoreTest, ListIsOrderedAndComplete) {
  for (const char* name : {"1003", "1001", "2000", "1002"}) ASSERT_TRUE(store_->add(make(name)).ok());
  std::vector<Extension> all;
  ASSERT_TRUE(store_->list(all).ok());
  std::vector<std::string> names;
  for (const auto& extension : all) names.push_back(extension.extension);
  EXPECT_EQ(names, (std::vector<std::string>{"1001", "1002", "1003", "2000"}));
}

TEST_F(ExtensionStoreTest, EmptyListIsOk) {
  std::vector<Extension> all{make("stale")};
  ASSERT_TRUE(store_->list(all).ok());
  EXPECT_TRUE(all.empty());
}

TEST_F(ExtensionStoreTest, RemoveDeletesOnlyThatExtension) {
  ASSERT_TRUE(store_->add(make("1001")).ok());
  ASSERT_TRUE(store_->add(make("1002")).ok());
  ASSERT_TRUE(store_->remove("1001").ok());
  Extension out;
  EXPECT_EQ(store_->find("1001", out).kind, Kind::NotFound);
  EXPECT_TRUE(store_->find("1002", out).ok());
  // The name is free again.
  EXPECT_TRUE(store_->add(make("1001", "reused-pass")).ok());
  EXPECT_EQ(find_ok("1001").sip_password, "reused-pass");
}

TEST_F(ExtensionStoreTest, SetPasswordAndEnabled) {
  ASSERT_TRUE(store_->add(make("1001", "old-pass")).ok());
  ASSERT_TRUE(store_->set_password("1001", "new-pass").ok());
  EXPECT_EQ(find_ok("1001").sip_password, "new-pass");
  EXPECT_EQ(store_->set_password("1001", "").kind, Kind::Invalid);
  EXPECT_EQ(find_ok("1001").sip_password, "new-pass");

  ASSERT_TRUE(store_->set_enabled("1001", false).ok());
  EXPECT_TRUE(find_ok("1001").login_disabled);
  ASSERT_TRUE(store_->set_enabled("1001", false).ok());  // already disabled: still fine
  EXPECT_TRUE(find_ok("1001").login_disabled);
  ASSERT_TRUE(store_->set_enabled("1001", true).ok());
  EXPECT_FALSE(find_ok("1001").login_disabled);
}

TEST_F(ExtensionStoreTest, UpdateReplacesFieldsButKeepsIdAndCreation) {
  ASSERT_TRUE(store_->add(make("1001")).ok());
  Extension before = find_ok("1001");
  Extension changed = before;
  changed.display_name = "Front desk";
  changed.email = "desk@example.com";
  changed.login_disabled = true;
  changed.allow_guest_calls = true;
  changed.call_forwarding_mode = "busy";
  changed.call_forwarding_destination = "1002";
  changed.created_at = "1999-01-01T00:00:00Z";  // ignored
  ASSERT_TRUE(store_->update(changed).ok());
  Extension after = find_ok("1001");
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.created_at, before.created_at);
  EXPECT_EQ(after.display_name, "Front desk");
  EXPECT_EQ(after.email, "desk@example.com");
  EXPECT_TRUE(after.login_disabled);
  EXPECT_TRUE(after.allow_guest_calls);
  EXPECT_EQ(after.call_forwarding_mode, "busy");
  EXPECT_EQ(after.call_forwarding_destination, "1002");
}

TEST_F(ExtensionStoreTest, EverySuccessfulChangeIsAnnouncedOnce) {
  ASSERT_TRUE(store_->add(make("1001")).ok());
  ASSERT_TRUE(store_->set_password("1001", "another-pass").ok());
  ASSERT_TRUE(store_->set_enabled("1001", false).ok());
  ASSERT_TRUE(store_->update(make("1001", "third-pass")).ok());
  ASSERT_TRUE(store_->remove("1001").ok());
  EXPECT_EQ(changed_, (std::vector<std::string>(5, "1001")));
  Extension out;
  ASSERT_EQ(store_->find("1001", out).kind, Kind::NotFound);
  std::vector<Extension> all;
  ASSERT_TRUE(store_->list(all).ok());
  EXPECT_EQ(changed_.size(), 5u);  // reads announce nothing
}

TEST_F(ExtensionStoreTest, ADestroyedSubscriptionIsNoLongerCalled) {
  subscription_.reset();
  ASSERT_TRUE(store_->add(make("1001")).ok());
  EXPECT_TRUE(changed_.empty());
}

TEST_F(ExtensionStoreTest, StoresOnOtherHubsDoNotAnnounceHere) {
  ExtensionChanges other;
  ExtensionStore elsewhere(*database_, &other);
  ASSERT_TRUE(elsewhere.add(make("1001")).ok());
  EXPECT_TRUE(changed_.empty());
  EXPECT_TRUE(store_->set_enabled("1001", false).ok());
  EXPECT_EQ(changed_, std::vector<std::string>{"1001"});
}

TEST_F(ExtensionStoreTest, BrokenDatabaseIsAnErrorNotACrash) {
  database_->with_session([](soci::session& sql) { sql << "DROP TABLE extensions"; });
  StoreStatus status = store_->add(make("1001", "hidden-pass"));
  EXPECT_EQ(status.kind, Kind::DatabaseError);
  EXPECT_EQ(status.message.find("hidden-pass"), std::string::npos) << status.message;
  Extension out;
  EXPECT_EQ(store_->find("1001", out).kind, Kind::DatabaseError);
  std::vector<Extension> all;
  EXPECT_EQ(store_->list(all).kind, Kind::DatabaseError);
  EXPECT_TRUE(changed_.empty());
}

}  // namespace
}  // namespace cppbx::storage
