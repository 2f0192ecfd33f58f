// Client transactions: retransmission (Timer E) and timeout (Timer F) against
// a real UDP socket that never answers, final responses, the ACK of a non-2xx
// INVITE response, and transport errors.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/udp.hpp>

#include "fake_transport.hpp"
#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {
namespace {

using namespace std::chrono_literals;
using testing::FakeTransport;
using testing::make_inbound;

std::string make_client_request(std::string_view method, std::string_view branch) {
  return std::string(method) + " sip:bob@127.0.0.1 SIP/2.0\r\n" +
         "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=" + std::string(branch) + "\r\n" +
         "Route: <sip:proxy.example.com;lr>\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=abc\r\nTo: <sip:bob@example.com>\r\n"
         "Call-ID: client-call-1\r\nCSeq: 7 " + std::string(method) + "\r\nContent-Length: 0\r\n\r\n";
}

std::string make_response(int code, std::string_view method, std::string_view branch) {
  return "SIP/2.0 " + std::to_string(code) + " Whatever\r\n" +
         "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=" + std::string(branch) + "\r\n" +
         "From: <sip:alice@example.com>;tag=abc\r\nTo: <sip:bob@example.com>;tag=bobtag\r\n"
         "Call-ID: client-call-1\r\nCSeq: 7 " + std::string(method) + "\r\nContent-Length: 0\r\n\r\n";
}

struct Results {
  std::mutex mutex;
  std::vector<ClientResult> results;
  void add(const ClientResult& r) {
    std::lock_guard lock(mutex);
    results.push_back(r);
  }
  size_t size() {
    std::lock_guard lock(mutex);
    return results.size();
  }
};

TEST(ClientTransaction, RetransmitsWithTimerEAndTimesOutWithTimerF) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });

  // The silent far end: a bound UDP socket nobody answers from.
  boost::asio::io_context silent_io;
  boost::asio::ip::udp::socket silent(silent_io, {boost::asio::ip::make_address("127.0.0.1"), 0});

  transport::TransportLayer::Options topts;
  topts.address = "127.0.0.1";
  topts.udp_port = 0;
  topts.tcp_port = 0;
  topts.ephemeral_ports = true;
  auto transport = transport::make_transport_layer(io, topts);
  transport->start();

  TransactionLayer::Options options;
  options.timers = {10ms, 40ms, 50ms};
  auto layer = make_transaction_layer(io, *transport, options);

  Results results;
  transport::Peer to{transport::Protocol::Udp, boost::asio::ip::make_address("127.0.0.1"),
                     silent.local_endpoint().port(), 0};
  std::string branch = new_branch();
  auto started = std::chrono::steady_clock::now();
  layer->send_request(to, sip::Method::Options, branch, make_client_request("OPTIONS", branch),
                      [&](const ClientResult& r) { results.add(r); });
  EXPECT_EQ(layer->client_transaction_count(), 1u);

  // Count what arrives at the silent socket until Timer F (64*T1 = 640 ms) fires.
  silent.non_blocking(true);
  size_t datagrams = 0;
  char buffer[4096];
  while (results.size() == 0 && std::chrono::steady_clock::now() - started < 3s) {
    boost::system::error_code ec;
    size_t n = silent.receive(boost::asio::buffer(buffer), 0, ec);
    if (!ec) {
      ++datagrams;
      EXPECT_NE(std::string_view(buffer, n).find(branch), std::string_view::npos);
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results.results[0].kind, ClientResult::Kind::Timeout);
  EXPECT_GE(elapsed, 600ms);
  // E: 10, 20, 40, then every 40 ms (T2) until 640 ms: about 17 sends.
  EXPECT_GE(datagrams, 10u);
  EXPECT_LE(datagrams, 25u);
  EXPECT_EQ(layer->client_transaction_count(), 0u);

  layer.reset();
  transport->stop();
  work.reset();
  io.stop();
  runner.join();
}

class ClientWithFakeTransport : public ::testing::Test {
 protected:
  ClientWithFakeTransport() {
    TransactionLayer::Options options;
    options.timers = {10ms, 40ms, 50ms};
    layer_ = make_transaction_layer(io_, transport_, options);
    layer_->set_stray_handler([this](transport::Inbound&&) { ++strays_; });
  }
  void run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  boost::asio::io_context io_;
  FakeTransport transport_;
  std::unique_ptr<TransactionLayer> layer_;
  Results results_;
  int strays_ = 0;
  transport::Peer to_{transport::Protocol::Udp, boost::asio::ip::make_address("127.0.0.1"), 5070, 0};
};

TEST_F(ClientWithFakeTransport, ReceivesFinalResponseAndStopsRetransmitting) {
  std::string branch = new_branch();
  layer_->send_request(to_, sip::Method::Register, branch, make_client_request("REGISTER", branch),
                       [&](const ClientResult& r) { results_.add(r); });
  layer_->on_inbound(make_inbound(make_response(100, "REGISTER", branch)));
  layer_->on_inbound(make_inbound(make_response(200, "REGISTER", branch)));
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_EQ(results_.results[0].response->status_code(), 100);
  EXPECT_EQ(results_.results[1].kind, ClientResult::Kind::Response);
  EXPECT_EQ(results_.results[1].response->status_code(), 200);
  size_t sends = transport_.sent().size();
  // A retransmitted 200 is absorbed (Timer K), not delivered twice.
  layer_->on_inbound(make_inbound(make_response(200, "REGISTER", branch)));
  EXPECT_EQ(results_.size(), 2u);
  EXPECT_EQ(strays_, 0);
  run_for(150ms);
  EXPECT_EQ(transport_.sent().size(), sends);  // no retransmission after the final
  EXPECT_EQ(layer_->client_transaction_count(), 0u);
  EXPECT_EQ(results_.size(), 2u);  // and no timeout either
}

TEST_F(ClientWithFakeTransport, ResponseForOtherMethodDoesNotMatch) {
  std::string branch = new_branch();
  layer_->send_request(to_, sip::Method::Invite, branch, make_client_request("INVITE", branch),
                       [&](const ClientResult& r) { results_.add(r); });
  layer_->on_inbound(make_inbound(make_response(200, "CANCEL", branch)));
  EXPECT_EQ(results_.size(), 0u);
  EXPECT_EQ(strays_, 1);
}

TEST_F(ClientWithFakeTransport, InviteNon2xxIsAcknowledged) {
  std::string branch = new_branch();
  layer_->send_request(to_, sip::Method::Invite, branch, make_client_request("INVITE", branch),
                       [&](const ClientResult& r) { results_.add(r); });
  layer_->on_inbound(make_inbound(make_response(486, "INVITE", branch)));
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_.results[0].response->status_code(), 486);
  ASSERT_EQ(transport_.count_starting_with("ACK "), 1u);
  std::string ack;
  for (auto& s : transport_.sent()) {
    if (s.bytes.starts_with("ACK ")) ack = s.bytes;
  }
  auto parsed = sip::parse_message(ack);
  ASSERT_EQ(parsed.status, sip::ParseStatus::Ok) << parsed.reason << "\n" << ack;
  EXPECT_EQ(parsed.message->request_uri_text(), "sip:bob@127.0.0.1");
  EXPECT_EQ(parsed.message->top_via().branch, branch);
  EXPECT_EQ(parsed.message->to().tag(), "bobtag");
  EXPECT_EQ(parsed.message->cseq().number, 7u);
  EXPECT_EQ(parsed.message->cseq().method, "ACK");
  EXPECT_NE(ack.find("Route: <sip:proxy.example.com;lr>"), std::string::npos);
  // The retransmitted 486 gets the ACK again and is not delivered twice.
  layer_->on_inbound(make_inbound(make_response(486, "INVITE", branch)));
  EXPECT_EQ(transport_.count_starting_with("ACK "), 2u);
  EXPECT_EQ(results_.size(), 1u);
}

TEST_F(ClientWithFakeTransport, InviteRetransmitsUntilProvisional) {
  std::string branch = new_branch();
  layer_->send_request(to_, sip::Method::Invite, branch, make_client_request("INVITE", branch),
                       [&](const ClientResult& r) { results_.add(r); });
  run_for(35ms);  // Timer A: 10, 30
  size_t before = transport_.count_starting_with("INVITE ");
  EXPECT_GE(before, 2u);
  layer_->on_inbound(make_inbound(make_response(180, "INVITE", branch)));
  run_for(100ms);
  EXPECT_EQ(transport_.count_starting_with("INVITE "), before);
}

TEST_F(ClientWithFakeTransport, TransportErrorIsReported) {
  transport_.accept_sends = false;
  std::string branch = new_branch();
  layer_->send_request(to_, sip::Method::Options, branch, make_client_request("OPTIONS", branch),
                       [&](const ClientResult& r) { results_.add(r); });
  run_for(20ms);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_.results[0].kind, ClientResult::Kind::TransportError);
  EXPECT_EQ(layer_->client_transaction_count(), 0u);
}

}  // namespace
}  // namespace cppbx::transaction
