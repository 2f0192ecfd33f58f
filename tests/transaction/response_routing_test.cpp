// Response routing (RFC 3261 18.2.2 / RFC 3581) and the Via stamp.
#include <gtest/gtest.h>

#include "fake_transport.hpp"
#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {
namespace {

using testing::make_inbound;
using testing::make_request;
using testing::RequestFields;

TEST(ResponseDestination, RportSendsBackToSourcePort) {
  RequestFields fields;
  fields.via_extra = ";rport";
  auto inbound = make_inbound(make_request(fields), testing::udp_peer(40000));
  ASSERT_EQ(inbound.parsed.status, sip::ParseStatus::Ok);
  transport::Peer to = response_destination(inbound);
  EXPECT_EQ(to.port, 40000);
  EXPECT_EQ(to.address.to_string(), "192.0.2.10");
}

TEST(ResponseDestination, WithoutRportUsesViaPort) {
  auto inbound = make_inbound(make_request({}), testing::udp_peer(40000));
  ASSERT_EQ(inbound.parsed.status, sip::ParseStatus::Ok);
  transport::Peer to = response_destination(inbound);
  EXPECT_EQ(to.port, 5062);  // sent-by port of the Via
  EXPECT_EQ(to.address.to_string(), "192.0.2.10");
}

TEST(ResponseDestination, WithoutViaPortUses5060) {
  std::string bytes = make_request({});
  bytes.replace(bytes.find("192.0.2.10:5062"), 15, "192.0.2.10");
  auto inbound = make_inbound(bytes, testing::udp_peer(40000));
  ASSERT_EQ(inbound.parsed.status, sip::ParseStatus::Ok);
  EXPECT_EQ(response_destination(inbound).port, 5060);
}

TEST(ResponseDestination, ReliableTransportsAnswerOnTheConnection) {
  transport::Peer tcp{transport::Protocol::Tcp, boost::asio::ip::make_address("192.0.2.10"), 40001, 17};
  auto inbound = make_inbound(make_request({}), tcp);
  transport::Peer to = response_destination(inbound);
  EXPECT_EQ(to.protocol, transport::Protocol::Tcp);
  EXPECT_EQ(to.connection, 17u);
  EXPECT_EQ(to.port, 40001);
}

// A 200 to a request whose top Via ends with `via_extra`, received from
// 203.0.113.7:40000.
std::string stamped_response_to(std::string via_extra) {
  RequestFields fields;
  fields.via_extra = std::move(via_extra);
  std::string request_bytes = make_request(fields);
  auto parsed = sip::parse_message(request_bytes);
  if (!parsed.message) return "request did not parse: " + parsed.reason;
  transport::Peer source{transport::Protocol::Udp, boost::asio::ip::make_address("203.0.113.7"), 40000, 0};
  sip::ResponseSpec spec{.code = 200, .to_tag = "x"};
  return build_stamped_response(*parsed.message, source, spec);
}

TEST(StampViaSource, FillsRportAndReceived) {
  std::string response = stamped_response_to(";rport");
  EXPECT_NE(response.find(";branch=z9hG4bK-test-1;rport=40000;received=203.0.113.7"), std::string::npos)
      << response;
}

TEST(StampViaSource, AddsReceivedWhenSentByIsNotTheSourceEvenWithoutRport) {
  std::string request_bytes = make_request({});  // sent-by 192.0.2.10:5062, no rport
  auto parsed = sip::parse_message(request_bytes);
  ASSERT_TRUE(parsed.message);
  transport::Peer behind_nat{transport::Protocol::Udp, boost::asio::ip::make_address("203.0.113.7"), 40000, 0};
  sip::ResponseSpec spec{.code = 200, .to_tag = "x"};
  std::string response = build_stamped_response(*parsed.message, behind_nat, spec);
  EXPECT_NE(response.find(";branch=z9hG4bK-test-1;received=203.0.113.7"), std::string::npos) << response;
  EXPECT_EQ(response.find("rport"), std::string::npos) << response;
}

TEST(StampViaSource, LeavesViaWithoutRportFromItsSentByAlone) {
  std::string request_bytes = make_request({});
  auto parsed = sip::parse_message(request_bytes);
  ASSERT_TRUE(parsed.message);
  std::string unstamped = sip::build_response(*parsed.message, {.code = 200, .to_tag = "x"});
  sip::ResponseSpec spec{.code = 200, .to_tag = "x"};
  EXPECT_EQ(build_stamped_response(*parsed.message, testing::udp_peer(40000), spec), unstamped);
}

TEST(StampViaSource, StampsOnlyTheTopViaOfAList) {
  std::string response =
      stamped_response_to(";rport, SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-second;rport");
  EXPECT_NE(response.find(";branch=z9hG4bK-test-1;rport=40000;received=203.0.113.7, SIP/2.0/UDP "
                          "198.51.100.1:5060;branch=z9hG4bK-second;rport\r\n"),
            std::string::npos)
      << response;
}

TEST(StampViaSource, FoldedTopViaIsCopiedUnstamped) {
  RequestFields fields;
  fields.via_extra = ";rport";
  std::string request_bytes = make_request(fields);
  const size_t branch = request_bytes.find(";branch=");
  ASSERT_NE(branch, std::string::npos);
  request_bytes.insert(branch, "\r\n ");  // the Via continues on a folded line
  auto parsed = sip::parse_message(request_bytes);
  ASSERT_TRUE(parsed.message);
  ASSERT_TRUE(parsed.message->top_via().has_rport);
  transport::Peer source{transport::Protocol::Udp, boost::asio::ip::make_address("203.0.113.7"), 40000, 0};
  sip::ResponseSpec spec{.code = 200, .to_tag = "x"};
  std::string response = build_stamped_response(*parsed.message, source, spec);
  // Byte for byte as received: a stamp cannot be placed in the folded text.
  EXPECT_NE(response.find("\r\n ;branch=z9hG4bK-test-1;rport\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.find("received="), std::string::npos) << response;
}

TEST(Identifiers, BranchHasMagicCookieAndIsUnique) {
  std::string a = new_branch();
  std::string b = new_branch();
  EXPECT_TRUE(a.starts_with("z9hG4bK"));
  EXPECT_GT(a.size(), 20u);
  EXPECT_NE(a, b);
  EXPECT_NE(new_tag(), new_tag());
  EXPECT_GE(new_tag().size(), 8u);
}

}  // namespace
}  // namespace cppbx::transaction
