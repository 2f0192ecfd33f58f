// Server transactions against a recording transport: retransmission
// absorption, timers (short T1/T4 so tests run fast), ACK, CANCEL, merged
// requests, stateless error responses, overload and shutdown.
#include <gtest/gtest.h>

#include <atomic>
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

class ServerTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override { make_layer({}); }

  void make_layer(TransactionLayer::Options options) {
    options.timers = {10ms, 40ms, 50ms};
    if (options.server_header.empty()) options.server_header = "cppbx-test";
    layer_.reset();
    layer_ = make_transaction_layer(io_, transport_, options);
    layer_->set_request_handler([this](ServerTransactionPtr tx) { requests_.push_back(std::move(tx)); });
    layer_->set_stray_handler([this](transport::Inbound&& inbound) { strays_.push_back(std::move(inbound)); });
    layer_->set_cancel_handler([this](ServerTransactionPtr) { ++cancels_; });
  }

  void feed(const std::string& bytes, transport::Peer peer = testing::udp_peer()) {
    layer_->on_inbound(make_inbound(bytes, peer));
  }

  void run_for(std::chrono::milliseconds duration) {
    io_.restart();
    io_.run_for(duration);
  }

  template <typename Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 3000ms) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      run_for(5ms);
    }
    return true;
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
  std::vector<transport::Inbound> strays_;
  int cancels_ = 0;
};

TEST_F(ServerTransactionTest, NewRequestReachesHandlerOnceAndRetransmissionGetsLastResponse) {
  std::string request = make_request({});
  feed(request);
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0]->request().method(), sip::Method::Register);

  // Retransmission before any response: absorbed silently.
  feed(request);
  EXPECT_EQ(requests_.size(), 1u);
  EXPECT_TRUE(transport_.sent().empty());

  ASSERT_TRUE(requests_[0]->respond({.code = 401, .reason = "Unauthorized"}));
  feed(request);
  EXPECT_EQ(requests_.size(), 1u);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 401 Unauthorized\r\n"));
  EXPECT_EQ(sent[0], sent[1]);
  // Later responses are ignored once final.
  EXPECT_FALSE(requests_[0]->respond({.code = 200}));
  EXPECT_TRUE(requests_[0]->completed());
}

TEST_F(ServerTransactionTest, ResponseCarriesLocalTagAndGoesToViaPort) {
  feed(make_request({}), testing::udp_peer(40000));
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 200});
  auto sent = transport_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to.port, 5062);
  std::string tag = "tag=" + std::string(requests_[0]->local_tag());
  EXPECT_NE(sent[0].bytes.find(tag), std::string::npos) << sent[0].bytes;
}

TEST_F(ServerTransactionTest, RportResponseGoesToSourcePortAndIsStamped) {
  RequestFields fields;
  fields.via_extra = ";rport";
  feed(make_request(fields), testing::udp_peer(40000));
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 200});
  auto sent = transport_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to.port, 40000);
  EXPECT_NE(sent[0].bytes.find(";rport=40000;received=192.0.2.10"), std::string::npos) << sent[0].bytes;
}

TEST_F(ServerTransactionTest, ProvisionalIsResentUntilFinal) {
  RequestFields fields;
  fields.method = "OPTIONS";
  std::string request = make_request(fields);
  feed(request);
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 183});
  feed(request);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[1].starts_with("SIP/2.0 183"));
  EXPECT_FALSE(requests_[0]->completed());
}

TEST_F(ServerTransactionTest, NonInviteTimerJRemovesTransaction) {
  std::string request = make_request({});
  feed(request);
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 200});
  EXPECT_EQ(layer_->server_transaction_count(), 1u);  // Completed: absorbs retransmissions
  // Timer J = 64*T1 = 640 ms.
  ASSERT_TRUE(run_until([&] { return layer_->server_transaction_count() == 0; }));
  // Gone: the same request is new again.
  feed(request);
  EXPECT_EQ(requests_.size(), 2u);
}

TEST_F(ServerTransactionTest, NonInviteOverTcpTerminatesAtOnce) {
  transport::Peer tcp{transport::Protocol::Tcp, boost::asio::ip::make_address("192.0.2.10"), 40001, 9};
  feed(make_request({}), tcp);
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 200});
  EXPECT_EQ(layer_->server_transaction_count(), 0u);
  auto sent = transport_.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to.connection, 9u);
}

TEST_F(ServerTransactionTest, InviteFinalIsRetransmittedUntilAckWhichIsAbsorbed) {
  RequestFields invite;
  invite.method = "INVITE";
  feed(make_request(invite));
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 486});
  // Timer G: T1, 2*T1, ... capped at T2.
  ASSERT_TRUE(run_until([&] { return transport_.count_starting_with("SIP/2.0 486") >= 3; }));

  RequestFields ack = invite;
  ack.method = "ACK";
  ack.to_tag = std::string(requests_[0]->local_tag());
  feed(make_request(ack));
  EXPECT_TRUE(strays_.empty());
  size_t after_ack = transport_.count_starting_with("SIP/2.0 486");
  // Timer I (T4 = 50 ms) ends it; no more retransmissions meanwhile.
  ASSERT_TRUE(run_until([&] { return layer_->server_transaction_count() == 0; }));
  run_for(60ms);
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 486"), after_ack);
}

TEST_F(ServerTransactionTest, InviteWithoutAckEndsWithTimerH) {
  RequestFields invite;
  invite.method = "INVITE";
  feed(make_request(invite));
  requests_[0]->respond({.code = 404});
  ASSERT_TRUE(run_until([&] { return layer_->server_transaction_count() == 0; }));
  // G doubled up to T2 = 40 ms within H = 640 ms: far fewer than 64 copies.
  size_t copies = transport_.count_starting_with("SIP/2.0 404");
  EXPECT_GE(copies, 5u);
  EXPECT_LE(copies, 25u);
}

TEST_F(ServerTransactionTest, InviteGets100TryingWhenCoreIsSlow) {
  TransactionLayer::Options options;
  options.trying_delay = 20ms;
  make_layer(options);
  RequestFields invite;
  invite.method = "INVITE";
  feed(make_request(invite));
  ASSERT_TRUE(run_until([&] { return transport_.count_starting_with("SIP/2.0 100") == 1; }));
  EXPECT_FALSE(requests_[0]->completed());
}

// With default timers the layer sweeps Timer J records on a 100 ms tick and
// wheel timers on a 10 ms one. An INVITE arriving while only a record is
// pending must re-arm the sweep at the fine tick: its 100 Trying, due after
// 10 ms, goes out long before the coarse tick would have come.
TEST_F(ServerTransactionTest, InviteWhileOnlyTimerJRecordsPendGetsTheFineTick) {
  TransactionLayer::Options options;  // T1 = 500 ms: ticks of 10 ms and 100 ms
  options.trying_delay = 10ms;
  layer_ = make_transaction_layer(io_, transport_, options);
  layer_->set_request_handler([this](ServerTransactionPtr tx) { requests_.push_back(std::move(tx)); });
  feed(make_request({}));
  ASSERT_TRUE(requests_[0]->respond({.code = 200}));  // a Timer J record: the coarse tick is armed
  RequestFields invite;
  invite.method = "INVITE";
  invite.branch = "z9hG4bK-invite-after-register";
  invite.call_id = "call-2@192.0.2.10";
  feed(make_request(invite));
  run_for(60ms);
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 100"), 1u);
}

TEST_F(ServerTransactionTest, AckFor2xxGoesToCore) {
  RequestFields invite;
  invite.method = "INVITE";
  feed(make_request(invite));
  requests_[0]->respond({.code = 200});
  RequestFields ack = invite;
  ack.method = "ACK";
  ack.branch = "z9hG4bK-new-branch-for-2xx-ack";
  ack.to_tag = std::string(requests_[0]->local_tag());
  feed(make_request(ack));
  ASSERT_EQ(strays_.size(), 1u);
  EXPECT_EQ(strays_[0].parsed.message->method(), sip::Method::Ack);
  // A retransmitted INVITE after the 2xx is absorbed (RFC 6026 Accepted).
  feed(make_request(invite));
  EXPECT_EQ(requests_.size(), 1u);
}

TEST_F(ServerTransactionTest, CancelGets200AndInviteGets487) {
  RequestFields invite;
  invite.method = "INVITE";
  feed(make_request(invite));
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 180});

  RequestFields cancel = invite;
  cancel.method = "CANCEL";
  feed(make_request(cancel));
  EXPECT_EQ(requests_.size(), 1u);  // CANCEL is handled here, not by the core
  EXPECT_EQ(cancels_, 1);
  EXPECT_TRUE(requests_[0]->cancelled());
  EXPECT_TRUE(requests_[0]->completed());
  EXPECT_FALSE(requests_[0]->respond({.code = 200}));

  bool saw_200_cancel = false, saw_487_invite = false;
  for (auto& bytes : sent_bytes()) {
    if (bytes.starts_with("SIP/2.0 200") && bytes.find("CSeq: 1 CANCEL") != std::string::npos) saw_200_cancel = true;
    if (bytes.starts_with("SIP/2.0 487") && bytes.find("CSeq: 1 INVITE") != std::string::npos) saw_487_invite = true;
  }
  EXPECT_TRUE(saw_200_cancel);
  EXPECT_TRUE(saw_487_invite);

  // A retransmitted CANCEL gets the same 200 again, not a second 487.
  feed(make_request(cancel));
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 200"), 2u);
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 487"), 1u);
  EXPECT_EQ(cancels_, 1);
}

TEST_F(ServerTransactionTest, CancelAfterFinalGets200Only) {
  RequestFields invite;
  invite.method = "INVITE";
  feed(make_request(invite));
  requests_[0]->respond({.code = 486});
  RequestFields cancel = invite;
  cancel.method = "CANCEL";
  feed(make_request(cancel));
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 200"), 1u);
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 487"), 0u);
  EXPECT_EQ(cancels_, 0);
}

TEST_F(ServerTransactionTest, CancelMatchingNothingGets481) {
  RequestFields cancel;
  cancel.method = "CANCEL";
  feed(make_request(cancel));
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 481"));
  EXPECT_NE(sent[0].find("Server: cppbx-test"), std::string::npos);
}

TEST_F(ServerTransactionTest, MergedRequestGets482) {
  RequestFields invite;
  invite.method = "INVITE";
  feed(make_request(invite));
  RequestFields forked = invite;
  forked.branch = "z9hG4bK-other-path";
  feed(make_request(forked));
  EXPECT_EQ(requests_.size(), 1u);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 482"));
  EXPECT_NE(sent[0].find("Server: cppbx-test"), std::string::npos);
}

TEST_F(ServerTransactionTest, DifferentCSeqIsNotMerged) {
  RequestFields first;
  feed(make_request(first));
  RequestFields second = first;
  second.branch = "z9hG4bK-second";
  second.cseq = 2;
  feed(make_request(second));
  EXPECT_EQ(requests_.size(), 2u);
}

TEST_F(ServerTransactionTest, MalformedRequestGets400WithParserReason) {
  std::string bytes = make_request({});
  bytes.replace(bytes.find("Max-Forwards: 70"), 16, "Max-Forwards: xx");
  auto probe = sip::parse_message(bytes);
  ASSERT_EQ(probe.status, sip::ParseStatus::Malformed);
  ASSERT_TRUE(probe.can_respond) << "parser cannot route a response for: " << probe.reason;
  feed(bytes);
  EXPECT_TRUE(requests_.empty());
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 400 " + probe.reason + "\r\n")) << sent[0];
  EXPECT_NE(sent[0].find("Server: cppbx-test"), std::string::npos);
}

TEST_F(ServerTransactionTest, BadVersionGets505) {
  RequestFields fields;
  fields.version = "SIP/7.0";
  std::string bytes = make_request(fields);
  auto probe = sip::parse_message(bytes);
  ASSERT_EQ(probe.status, sip::ParseStatus::VersionUnsupported);
  if (!probe.can_respond) GTEST_SKIP() << "parser does not offer a response for bad versions";
  feed(bytes);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 505")) << sent[0];
}

TEST_F(ServerTransactionTest, UnanswerableGarbageIsDroppedAndCounted) {
  feed("this is not SIP at all\r\n\r\n");
  EXPECT_TRUE(transport_.sent().empty());
  EXPECT_EQ(layer_->dropped_count(), 1u);
}

TEST_F(ServerTransactionTest, OverCapacityGets503WithRetryAfter) {
  TransactionLayer::Options options;
  options.max_transactions = 1;
  make_layer(options);
  feed(make_request({}));
  RequestFields other;
  other.branch = "z9hG4bK-other";
  other.call_id = "call-2";
  feed(make_request(other));
  EXPECT_EQ(requests_.size(), 1u);
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].starts_with("SIP/2.0 503"));
  EXPECT_NE(sent[0].find("Retry-After: "), std::string::npos);
}

TEST_F(ServerTransactionTest, ResponsesCarryTheConfiguredServerHeader) {
  TransactionLayer::Options options;
  options.server_header = "cppbx";
  make_layer(options);
  feed(make_request({}));
  ASSERT_EQ(requests_.size(), 1u);
  ASSERT_TRUE(requests_[0]->respond({.code = 200}));
  auto sent = sent_bytes();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].find("\r\nServer: cppbx\r\n"), std::string::npos) << sent[0];
}

TEST_F(ServerTransactionTest, FinishedTransactionsDoNotCountAgainstConcurrency) {
  TransactionLayer::Options options;
  options.max_transactions = 1;
  make_layer(options);
  feed(make_request({}));
  ASSERT_EQ(requests_.size(), 1u);
  ASSERT_TRUE(requests_[0]->respond({.code = 401}));  // now only absorbing retransmissions
  RequestFields other;
  other.branch = "z9hG4bK-other";
  other.call_id = "call-2";
  feed(make_request(other));
  EXPECT_EQ(requests_.size(), 2u);
  for (const auto& bytes : sent_bytes()) EXPECT_FALSE(bytes.starts_with("SIP/2.0 503")) << bytes;
}

TEST_F(ServerTransactionTest, TheWholeTableIsBoundedToo) {
  TransactionLayer::Options options;
  options.max_transaction_table = 1;
  make_layer(options);
  feed(make_request({}));
  ASSERT_TRUE(requests_[0]->respond({.code = 401}));
  RequestFields other;
  other.branch = "z9hG4bK-other";
  other.call_id = "call-2";
  feed(make_request(other));
  EXPECT_EQ(requests_.size(), 1u);
  EXPECT_TRUE(sent_bytes().back().starts_with("SIP/2.0 503"));
}

TEST_F(ServerTransactionTest, ShutdownRejectsNewRequestsAndWaitsForPending) {
  feed(make_request({}));
  ASSERT_EQ(requests_.size(), 1u);
  bool done = false;
  layer_->shutdown(5000ms, [&] { done = true; });
  RequestFields other;
  other.branch = "z9hG4bK-late";
  other.call_id = "call-late";
  feed(make_request(other));
  EXPECT_EQ(requests_.size(), 1u);
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 503"), 1u);
  run_for(50ms);
  EXPECT_FALSE(done);  // the first request is still unanswered
  requests_[0]->respond({.code = 200});
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
}

TEST_F(ServerTransactionTest, ShutdownGraceElapses) {
  feed(make_request({}));
  bool done = false;
  layer_->shutdown(50ms, [&] { done = true; });
  ASSERT_TRUE(run_until([&] { return done; }, 1000ms));
  EXPECT_FALSE(requests_[0]->completed());
}

TEST_F(ServerTransactionTest, Rfc2543RequestsMatchWithoutMagicCookie) {
  RequestFields invite;
  invite.method = "INVITE";
  invite.branch = "old-style-1";
  feed(make_request(invite));
  ASSERT_EQ(requests_.size(), 1u);
  requests_[0]->respond({.code = 603});
  feed(make_request(invite));  // retransmission
  EXPECT_EQ(requests_.size(), 1u);
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 603"), 2u);
  RequestFields ack = invite;
  ack.method = "ACK";
  ack.to_tag = std::string(requests_[0]->local_tag());
  feed(make_request(ack));
  EXPECT_TRUE(strays_.empty());
}

TEST_F(ServerTransactionTest, RespondFromAnotherThread) {
  feed(make_request({}));
  ASSERT_EQ(requests_.size(), 1u);
  ServerTransactionPtr tx = requests_[0];
  std::atomic<int> accepted{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] { accepted += tx->respond({.code = 200}) ? 1 : 0; });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(transport_.count_starting_with("SIP/2.0 200"), 1u);
}

TEST_F(ServerTransactionTest, StrayResponseGoesToCore) {
  std::string response =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-unknown\r\n"
      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: x\r\n"
      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  feed(response);
  ASSERT_EQ(strays_.size(), 1u);
  EXPECT_EQ(strays_[0].parsed.message->status_code(), 200);
}

}  // namespace
}  // namespace cppbx::transaction
