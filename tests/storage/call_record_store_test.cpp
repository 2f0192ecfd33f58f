// CallRecordStore against a real SQLite file: migration 4 creates the table,
// a batch is written in one transaction, NULL times stay NULL, and values
// that look like SQL are stored as they are.
#include "storage/call_record_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cppbx::storage {
namespace {

namespace fs = std::filesystem;

CallRecord record(const std::string& call_id, int seconds_after, bool answered) {
  CallRecord r;
  r.call_id = call_id;
  r.caller = "sip:alice@example.com";
  r.callee = "sip:bob@example.com";
  r.caller_transport = "udp";
  r.started_at = SystemClock::time_point(std::chrono::seconds(1'700'000'000 + seconds_after));
  if (answered) {
    r.ringing_at = r.started_at + std::chrono::milliseconds(250);
    r.answered_at = r.started_at + std::chrono::seconds(2);
    r.answered_by = "sip:bob@192.0.2.9:5060";
    r.callee_transport = "tcp";
    r.end_reason = "bye_caller";
    r.status_code = 200;
  } else {
    r.end_reason = "failed";
    r.status_code = 486;
  }
  r.ended_at = r.started_at + std::chrono::seconds(30);
  return r;
}

class CallRecordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cppbx callrecords " + std::to_string(::getpid()) + " " +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::string error;
    database_ = Database::open("sqlite://" + (dir_ / "cppbx.sqlite3").string(), error);
    ASSERT_NE(database_, nullptr) << error;
  }
  void TearDown() override {
    database_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<Database> database_;
};

TEST_F(CallRecordStoreTest, BatchRoundTripsWithNullTimesAndOddValues) {
  CallRecordStore store(*database_);
  CallRecord odd = record("x'); DROP TABLE call_records; --", 20, false);
  store.insert({record("c1", 0, true), record("c2", 10, false), odd});
  auto rows = store.recent(10);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].call_id, odd.call_id) << "most recent end first";
  EXPECT_EQ(rows[2].call_id, "c1");
  EXPECT_EQ(rows[2].answered_by, "sip:bob@192.0.2.9:5060");
  ASSERT_TRUE(rows[2].ringing_at && rows[2].answered_at);
  EXPECT_EQ(*rows[2].answered_at - rows[2].started_at, std::chrono::seconds(2));
  EXPECT_EQ(*rows[2].ringing_at - rows[2].started_at, std::chrono::milliseconds(250));
  EXPECT_FALSE(rows[1].ringing_at);
  EXPECT_FALSE(rows[1].answered_at);
  EXPECT_EQ(rows[1].status_code, 486);
  EXPECT_EQ(rows[1].end_reason, "failed");
  EXPECT_EQ(store.recent(1).size(), 1u);
}

TEST_F(CallRecordStoreTest, AFailedBatchWritesNothing) {
  CallRecordStore store(*database_);
  database_->with_session([](soci::session& session) {
    // A CHECK that the third row breaks: the whole batch must roll back.
    session << "CREATE TRIGGER refuse_bad BEFORE INSERT ON call_records WHEN NEW.status_code = 999"
               " BEGIN SELECT RAISE(ABORT, 'refused'); END";
    return 0;
  });
  CallRecord bad = record("c3", 5, false);
  bad.status_code = 999;
  EXPECT_ANY_THROW(store.insert({record("c1", 0, true), record("c2", 1, true), bad}));
  EXPECT_TRUE(store.recent(10).empty());
}

}  // namespace
}  // namespace cppbx::storage
