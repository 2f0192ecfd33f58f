#include "call/call_tracker.hpp"

#include <gtest/gtest.h>

#include "call/fork.hpp"
#include "sip/parser.hpp"

namespace cppbx::call {
namespace {

SystemClock::time_point fake_now;
SystemClock::time_point now() { return fake_now; }

class CollectingSink final : public CallRecordSink {
 public:
  void write(CallRecord record) override { records.push_back(std::move(record)); }
  std::vector<CallRecord> records;
};

sip::Message parse(const std::string& text) {
  auto result = sip::parse_message(text);
  EXPECT_TRUE(result.message) << text;
  return std::move(*result.message);
}

std::string request(const std::string& method, const std::string& to_tag, const std::string& from_tag,
                    int cseq, const std::string& extra = "") {
  return method + " sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
         "From: <sip:alice@example.com>;tag=" + from_tag + "\r\nTo: <sip:bob@example.com>" +
         (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\nCall-ID: c1\r\nCSeq: " + std::to_string(cseq) + " " +
         method + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

std::string ok(const std::string& extra = "") {
  return "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
         "From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>;tag=b\r\nCall-ID: c1\r\n"
         "CSeq: 1 INVITE\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

class CallTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_now = SystemClock::time_point(std::chrono::seconds(1'700'000'000)); }
  std::shared_ptr<CollectingSink> sink_ = std::make_shared<CollectingSink>();
  transport::Peer caller_{transport::Protocol::Tcp, boost::asio::ip::make_address("192.0.2.1"), 5060, 4};
  Target callee_{"sip:bob@192.0.2.9", {}, {transport::Protocol::Udp, boost::asio::ip::make_address("192.0.2.9"), 5060, 0},
                 "sip:bob@192.0.2.9"};

  std::shared_ptr<CallTracker> tracker(CallTrackerOptions options = {}) {
    return std::make_shared<CallTracker>(sink_, options, &now);
  }
};

TEST_F(CallTrackerTest, AnsweredCallEndedByCalleeBye) {
  auto calls = tracker();
  auto observer = calls->begin(parse(request("INVITE", "", "a", 1)), caller_);
  fake_now += std::chrono::seconds(1);
  observer->on_ringing(parse(ok()));
  fake_now += std::chrono::seconds(2);
  observer->on_answered(parse(ok()), callee_);
  EXPECT_TRUE(sink_->records.empty());
  fake_now += std::chrono::seconds(30);
  // BYE from the callee: its From tag is the callee's, its To tag the caller's.
  calls->on_in_dialog_request(parse(request("BYE", "a", "b", 7)));
  ASSERT_EQ(sink_->records.size(), 1u);
  const CallRecord& record = sink_->records[0];
  EXPECT_EQ(record.end_reason, "bye_callee");
  EXPECT_EQ(record.status_code, 200);
  EXPECT_EQ(record.caller_transport, "tcp");
  EXPECT_EQ(record.callee_transport, "udp");
  EXPECT_EQ(record.answered_by, "sip:bob@192.0.2.9");
  EXPECT_EQ(record.callee, "sip:bob@example.com");
  ASSERT_TRUE(record.ringing_at && record.answered_at);
  EXPECT_EQ(*record.answered_at - record.started_at, std::chrono::seconds(3));
  EXPECT_EQ(record.ended_at - *record.answered_at, std::chrono::seconds(30));
  EXPECT_EQ(calls->active_calls(), 0u);
}

TEST_F(CallTrackerTest, FailedAndCancelledCallsAreRecordedOnce) {
  auto calls = tracker();
  auto observer = calls->begin(parse(request("INVITE", "", "a", 1)), caller_);
  observer->on_failed(486, false);
  observer->on_failed(486, false);
  ASSERT_EQ(sink_->records.size(), 1u);
  EXPECT_EQ(sink_->records[0].end_reason, "failed");
  EXPECT_EQ(sink_->records[0].status_code, 486);
  EXPECT_FALSE(sink_->records[0].answered_at);
  auto cancelled = calls->begin(parse(request("INVITE", "", "x", 1)), caller_);
  cancelled->on_failed(487, true);
  ASSERT_EQ(sink_->records.size(), 2u);
  EXPECT_EQ(sink_->records[1].end_reason, "cancelled");
}

TEST_F(CallTrackerTest, SessionIntervalEndsAnUnrefreshedCallAndRefreshesCount) {
  auto calls = tracker({.max_duration = std::chrono::hours(4), .default_session_interval = std::chrono::seconds(0)});
  auto observer = calls->begin(parse(request("INVITE", "", "a", 1)), caller_);
  observer->on_answered(parse(ok("Session-Expires: 90;refresher=uac\r\n")), callee_);
  fake_now += std::chrono::seconds(100);
  calls->on_in_dialog_request(parse(request("UPDATE", "b", "a", 2)));  // a refresh
  fake_now += std::chrono::seconds(100);
  calls->sweep();
  EXPECT_TRUE(sink_->records.empty()) << "refreshed 100 s ago: within 90 + 32 s";
  fake_now += std::chrono::seconds(30);
  calls->sweep();
  ASSERT_EQ(sink_->records.size(), 1u);
  EXPECT_EQ(sink_->records[0].end_reason, "session_expired");
}

TEST_F(CallTrackerTest, MaximumDurationEndsACallWithoutSessionTimer) {
  auto calls = tracker({.max_duration = std::chrono::seconds(600), .default_session_interval = std::chrono::seconds(0)});
  auto observer = calls->begin(parse(request("INVITE", "", "a", 1)), caller_);
  observer->on_answered(parse(ok()), callee_);
  fake_now += std::chrono::seconds(599);
  calls->sweep();
  EXPECT_TRUE(sink_->records.empty());
  fake_now += std::chrono::seconds(2);
  calls->sweep();
  ASSERT_EQ(sink_->records.size(), 1u);
  EXPECT_EQ(sink_->records[0].end_reason, "max_duration");
}

TEST(BetterFinalTest, FollowsRfc3261Section16_7) {
  EXPECT_TRUE(better_final(486, 0));
  EXPECT_TRUE(better_final(603, 486)) << "6xx beats every other class";
  EXPECT_FALSE(better_final(486, 603));
  EXPECT_TRUE(better_final(486, 503)) << "lowest class first";
  EXPECT_TRUE(better_final(302, 486));
  EXPECT_TRUE(better_final(407, 486)) << "401/407/415/420/484 preferred within their class";
  EXPECT_FALSE(better_final(486, 407));
  EXPECT_FALSE(better_final(480, 486)) << "same class, no preference: the first stays";
}

}  // namespace
}  // namespace cppbx::call
