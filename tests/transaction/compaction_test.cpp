// Finished non-INVITE transactions over UDP shrink into the layer's
// CompletedStore: the transaction object goes, but retransmissions are still
// answered, merged requests still detected, Timer J still ends them, and
// unanswered ones still end after 64*T1 without any timer of their own.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_transport.hpp"
#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {
namespace {

using namespace std::chrono_literals;
using testing::FakeTransport;
using testing::make_inbound;
using testing::make_request;
using testing::RequestFields;

class CompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TransactionLayer::Options options;
    options.timers = {10ms, 40ms, 50ms};  // 64*T1 = 640 ms
    options.max_transactions = 1;
    layer_ = make_transaction_layer(io_, transport_, options);
    layer_->set_request_handler([this](ServerTransactionPtr tx) { requests_.push_back(std::move(tx)); });
  }

  void feed(const std::string& bytes) { layer_->on_inbound(make_inbound(bytes, testing::udp_peer())); }

  void run_for(std::chrono::milliseconds duration) {
    io_.restart();
    io_.run_for(duration);
  }

  std::vector<std::string> sent_bytes() const {
    std::vector<std::string> out;
    for (auto& s : transport_.sent()) out.push_back(s.bytes);
    return out;
  }

  boost::asio::io_context io_;
  FakeTransport transport_;
  std::unique_ptr<TransactionLayer> layer_;
  std::vector<ServerTransactionPtr> requests_;
};

TEST_F(CompactionTest, AnsweredTransactionIsReleasedButRetransmissionsStillGetTheResponse) {
  std::string request = make_request({});
  feed(request);
  ASSERT_EQ(requests_.size(), 1u);
  ASSERT_TRUE(requests_[0]->respond({.code = 401, .reason = "Unauthorized"}));
  std::weak_ptr<ServerTransaction> weak = requests_[0];
  requests_.clear();
  // Nothing but the core held the transaction: the layer kept only a record.
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(layer_->server_transaction_count(), 1u);

  feed(request);
  feed(request);
  EXPECT_TRUE(requests_.empty());
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 401 Unauthorized\r\n"));
  EXPECT_EQ(sent[1], sent[0]);
  EXPECT_EQ(sent[2], sent[0]);
  EXPECT_EQ(transport_.sent()[2].to.port, 5062);
}

TEST_F(CompactionTest, AStatelessChallengeKeepsNothingAndItsRetransmissionIsAnsweredAnew) {
  std::string request = make_request({});
  feed(request);
  ASSERT_EQ(requests_.size(), 1u);
  ASSERT_TRUE(requests_[0]->respond_statelessly({.code = 401, .reason = "Unauthorized"}));
  EXPECT_FALSE(requests_[0]->respond({.code = 200}));  // the transaction is over
  EXPECT_EQ(layer_->server_transaction_count(), 0u);
  // The retransmission is a new request for the core, which challenges it again.
  feed(request);
  ASSERT_EQ(requests_.size(), 2u);
  ASSERT_TRUE(requests_[1]->respond_statelessly({.code = 401, .reason = "Unauthorized"}));
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 401 Unauthorized\r\n"));
  EXPECT_TRUE(sent[1].starts_with("SIP/2.0 401 Unauthorized\r\n"));
  EXPECT_EQ(layer_->server_transaction_count(), 0u);
}

TEST_F(CompactionTest, AnInviteAnsweredStatelesslyStillAbsorbsItsRetransmissions) {
  std::string invite = make_request({.method = "INVITE"});
  feed(invite);
  ASSERT_EQ(requests_.size(), 1u);
  ASSERT_TRUE(requests_[0]->respond_statelessly({.code = 407}));
  feed(invite);
  EXPECT_EQ(requests_.size(), 1u);  // absorbed by the transaction, answered from it
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 407 "));
  EXPECT_EQ(sent[1], sent[0]);
}

TEST_F(CompactionTest, MergedRequestIsStillDetectedAfterCompaction) {
  feed(make_request({}));
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 200});
  requests_.clear();
  RequestFields forked;
  forked.branch = "z9hG4bK-other-path";
  feed(make_request(forked));
  EXPECT_TRUE(requests_.empty());
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[1].starts_with("SIP/2.0 482")) << sent[1];
}

TEST_F(CompactionTest, RecordLastsTimerJThenTheRequestIsNewAgain) {
  std::string request = make_request({});
  feed(request);
  requests_[0]->respond({.code = 200});
  requests_.clear();
  run_for(300ms);
  EXPECT_EQ(layer_->server_transaction_count(), 1u);  // well inside 640 ms
  run_for(600ms);
  EXPECT_EQ(layer_->server_transaction_count(), 0u);
  feed(request);
  EXPECT_EQ(requests_.size(), 1u);
}

TEST_F(CompactionTest, FinishedTransactionsLeaveRoomForNewRequests) {
  // max_transactions = 1 counts only requests awaiting an answer.
  for (int i = 0; i < 5; ++i) {
    RequestFields fields;
    fields.branch = "z9hG4bK-n" + std::to_string(i);
    fields.call_id = "call-" + std::to_string(i);
    feed(make_request(fields));
    ASSERT_EQ(requests_.size(), 1u) << i;
    requests_[0]->respond({.code = 200});
    requests_.clear();
  }
  EXPECT_EQ(layer_->server_transaction_count(), 5u);
}

TEST_F(CompactionTest, UnansweredNonInviteEndsSilentlyAfter64T1) {
  std::string request = make_request({});
  feed(request);
  ASSERT_EQ(requests_.size(), 1u);
  run_for(300ms);
  EXPECT_FALSE(requests_[0]->completed());
  run_for(600ms);
  EXPECT_TRUE(requests_[0]->completed());
  EXPECT_EQ(layer_->server_transaction_count(), 0u);
  EXPECT_FALSE(requests_[0]->respond({.code = 200}));
  EXPECT_TRUE(transport_.sent().empty());
  // It no longer counts as awaiting an answer (max_transactions = 1).
  RequestFields other;
  other.branch = "z9hG4bK-next";
  other.call_id = "call-next";
  feed(make_request(other));
  EXPECT_EQ(requests_.size(), 2u);
}

TEST_F(CompactionTest, DroppedRequestStaysSilentForItsRetransmissions) {
  std::string request = make_request({});
  feed(request);
  requests_[0]->drop();
  requests_.clear();
  feed(request);
  EXPECT_TRUE(requests_.empty());
  EXPECT_TRUE(transport_.sent().empty());
  EXPECT_EQ(layer_->server_transaction_count(), 1u);
}

TEST_F(CompactionTest, ProvisionalThenFinalIsCompactedWithTheFinal) {
  std::string request = make_request({});
  feed(request);
  requests_[0]->respond({.code = 100});
  requests_[0]->respond({.code = 200});
  requests_.clear();
  feed(request);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_TRUE(sent[2].starts_with("SIP/2.0 200")) << sent[2];
}

TEST_F(CompactionTest, LayerTeardownWithRecordsAndPendingTransactionsIsClean) {
  feed(make_request({}));
  requests_[0]->respond({.code = 200});
  RequestFields pending;
  pending.branch = "z9hG4bK-pending";
  pending.call_id = "call-pending";
  feed(make_request(pending));
  ASSERT_EQ(requests_.size(), 2u);
  layer_.reset();
  run_for(20ms);  // the housekeeping timer's cancelled wait must be harmless
  // The pending transaction was abandoned with the layer: it ended silently.
  EXPECT_TRUE(requests_[1]->completed());
  EXPECT_FALSE(requests_[1]->respond({.code = 200}));
  EXPECT_EQ(transport_.sent().size(), 1u);
}

TEST_F(CompactionTest, RequestAnsweredInsideTheHandlerNeverEntersTheTables) {
  // The handler answers before returning, as the auth and registrar modules
  // do for users held in memory: retransmissions still get the answer.
  layer_->set_request_handler([](ServerTransactionPtr tx) { tx->respond({.code = 401, .reason = "Unauthorized"}); });
  std::string request = make_request({});
  feed(request);
  EXPECT_EQ(layer_->server_transaction_count(), 1u);  // the CompletedStore record only
  feed(request);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1], sent[0]);
  EXPECT_EQ(layer_->server_transaction_count(), 1u);
}

TEST_F(CompactionTest, RequestStillWaitingAfterTheHandlerAbsorbsRetransmissionsUntilAnswered) {
  std::string request = make_request({});
  feed(request);
  ASSERT_EQ(requests_.size(), 1u);
  feed(request);  // while the core still holds it (an asynchronous lookup)
  EXPECT_EQ(requests_.size(), 1u);
  EXPECT_TRUE(sent_bytes().empty());
  requests_[0]->respond({.code = 200});
  feed(request);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 200 OK\r\n"));
  EXPECT_EQ(sent[1], sent[0]);
}

TEST_F(CompactionTest, AnswerFromAnotherThreadWhileEnteringTheTablesLeavesNoStaleEntry) {
  // The core answers from a worker thread at about the moment the layer
  // enters the transaction; whichever wins, nothing but the record is left.
  for (int round = 0; round < 200; ++round) {
    std::thread worker;
    layer_->set_request_handler([&worker](ServerTransactionPtr tx) {
      worker = std::thread([tx] { tx->respond({.code = 200}); });
    });
    RequestFields fields;
    fields.branch = "z9hG4bK-race-" + std::to_string(round);
    fields.call_id = "race-" + std::to_string(round);
    feed(make_request(fields));
    worker.join();
  }
  EXPECT_EQ(layer_->server_transaction_count(), 200u);  // 200 records, no live entry
  EXPECT_EQ(sent_bytes().size(), 200u);
}

}  // namespace
}  // namespace cppbx::transaction
