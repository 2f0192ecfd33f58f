#include "call/dialog_route.hpp"

#include <gtest/gtest.h>

#include "sip/uri.hpp"

namespace cppbx::call {
namespace {

transport::Peer peer(transport::Protocol protocol, const char* address, uint16_t port,
                     transport::ConnectionId connection = 0) {
  return {protocol, boost::asio::ip::make_address(address), port, connection};
}

// The URI of a Record-Route value "<sip:...>".
sip::Uri uri_of(const std::string& value, std::string& storage) {
  storage = value.substr(1, value.size() - 2);
  auto uri = sip::parse_uri(storage);
  EXPECT_TRUE(uri.has_value()) << storage;
  return uri.value_or(sip::Uri{});
}

TEST(FlowTokenTest, RoundTripsEveryProtocolAndIpv6) {
  for (auto original : {peer(transport::Protocol::Udp, "192.0.2.10", 5060),
                        peer(transport::Protocol::Tcp, "::1", 40000, 17),
                        peer(transport::Protocol::Tls, "2001:db8::5", 5061, 18446744073709551615ull),
                        peer(transport::Protocol::Ws, "10.0.0.1", 80, 3),
                        peer(transport::Protocol::Wss, "10.0.0.1", 443, 4)}) {
    std::string token = flow_token(original);
    auto parsed = parse_flow_token(token);
    ASSERT_TRUE(parsed) << token;
    EXPECT_EQ(parsed->protocol, original.protocol) << token;
    EXPECT_EQ(parsed->address, original.address) << token;
    EXPECT_EQ(parsed->port, original.port) << token;
    EXPECT_EQ(parsed->connection, original.connection) << token;
    EXPECT_EQ(token.find_first_of(";,<>\" "), std::string::npos) << "not a URI parameter value: " << token;
  }
}

TEST(FlowTokenTest, RejectsMalformedTokens) {
  for (const char* bad : {"", "u", "u~1.2.3.4~5060", "q~1.2.3.4~5060~0", "u~nothost~5060~0",
                          "u~1.2.3.4~70000~0", "u~1.2.3.4~5060~-1", "u~1.2.3.4~5060~0~9", "uu~1.2.3.4~1~0"}) {
    EXPECT_FALSE(parse_flow_token(bad)) << bad;
  }
}

class DialogRouteSignerTest : public ::testing::Test {
 protected:
  DialogRouteSigner signer_{"test secret"};
  DialogRoute route_{"caller-tag", peer(transport::Protocol::Udp, "192.0.2.1", 5062),
                     peer(transport::Protocol::Tcp, "198.51.100.7", 40123, 9)};
  std::string storage_;
};

TEST_F(DialogRouteSignerTest, VerifiesItsOwnRecordRoute) {
  std::string value = record_route_value("203.0.113.5", 5060, transport::Protocol::Tcp,
                                         signer_.parameters("call-1@x", route_));
  sip::Uri uri = uri_of(value, storage_);
  EXPECT_TRUE(uri.param("lr").has_value());
  EXPECT_EQ(uri.param("transport").value_or(""), "tcp");
  auto verified = signer_.verify("call-1@x", uri);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->caller_tag, "caller-tag");
  EXPECT_EQ(verified->callee_flow.connection, 9u);
  EXPECT_EQ(&verified->toward("caller-tag"), &verified->callee_flow);
  EXPECT_EQ(&verified->toward("callee-tag"), &verified->caller_flow);
}

TEST_F(DialogRouteSignerTest, RefusesAnotherCallIdAnotherSecretOrAnyAlteredField) {
  std::string params = signer_.parameters("call-1@x", route_);
  std::string value = record_route_value("203.0.113.5", 5060, transport::Protocol::Udp, params);
  EXPECT_FALSE(signer_.verify("call-2@x", uri_of(value, storage_)));
  EXPECT_FALSE(DialogRouteSigner("other secret").verify("call-1@x", uri_of(value, storage_)));
  for (auto [from, to] : {std::pair{"ef=t~198.51.100.7", "ef=t~198.51.100.8"},
                          std::pair{"cf=u~192.0.2.1~5062", "cf=u~192.0.2.1~5063"},
                          std::pair{"ftag=caller-tag", "ftag=caller-tah"}}) {
    std::string altered = value;
    size_t at = altered.find(from);
    ASSERT_NE(at, std::string::npos) << from << " in " << altered;
    altered.replace(at, std::string(from).size(), to);
    EXPECT_FALSE(signer_.verify("call-1@x", uri_of(altered, storage_))) << altered;
  }
  std::string without_mac = value.substr(0, value.find(";ck=")) + ">";
  EXPECT_FALSE(signer_.verify("call-1@x", uri_of(without_mac, storage_)));
}

TEST_F(DialogRouteSignerTest, TagsThatNeedEscapingSurvive) {
  route_.caller_tag = "a;b=c%d";
  std::string value = record_route_value("203.0.113.5", 0, transport::Protocol::Udp,
                                         signer_.parameters("c", route_));
  auto verified = signer_.verify("c", uri_of(value, storage_));
  ASSERT_TRUE(verified) << value;
  EXPECT_EQ(verified->caller_tag, "a;b=c%d");
}

TEST(RecordRouteValueTest, SchemeAndTransportFollowTheFlow) {
  EXPECT_EQ(record_route_value("h", 5060, transport::Protocol::Udp, "lr"), "<sip:h:5060;lr>");
  EXPECT_EQ(record_route_value("h", 5061, transport::Protocol::Tls, "lr"), "<sips:h:5061;lr>");
  EXPECT_EQ(record_route_value("h", 80, transport::Protocol::Ws, "lr"), "<sip:h:80;transport=ws;lr>");
  EXPECT_EQ(record_route_value("h", 443, transport::Protocol::Wss, "lr"), "<sips:h:443;transport=ws;lr>");
}

}  // namespace
}  // namespace cppbx::call
