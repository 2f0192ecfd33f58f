// append_address() must print exactly what boost's address::to_string()
// prints (it replaces it on the hot path), for every IPv4 shape and IPv6.
#include <gtest/gtest.h>

#include <string>

#include "transport/transport.hpp"

namespace cppbx::transport {
namespace {

std::string appended(const boost::asio::ip::address& address) {
  std::string out = "x";
  append_address(out, address);
  return out;
}

TEST(AddressTextTest, MatchesBoostForIpv4EdgeValues) {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "10.0.0.1", "192.0.2.10", "127.0.0.1", "1.20.100.9"}) {
    auto address = boost::asio::ip::make_address(text);
    EXPECT_EQ(appended(address), "x" + address.to_string()) << text;
    EXPECT_EQ(appended(address), std::string("x") + text);
  }
}

TEST(AddressTextTest, MatchesBoostForEveryOctetValue) {
  for (unsigned value = 0; value < 256; ++value) {
    boost::asio::ip::address_v4 v4(boost::asio::ip::address_v4::bytes_type{
        static_cast<unsigned char>(value), 0, static_cast<unsigned char>(255 - value), 7});
    boost::asio::ip::address address(v4);
    ASSERT_EQ(appended(address), "x" + address.to_string()) << value;
  }
}

TEST(AddressTextTest, Ipv6IsLeftToBoost) {
  for (const char* text : {"::1", "2001:db8::5", "::ffff:192.0.2.1", "fe80::1"}) {
    auto address = boost::asio::ip::make_address(text);
    EXPECT_EQ(appended(address), "x" + address.to_string()) << text;
  }
}

TEST(AddressTextTest, PeerTextUsesIt) {
  Peer peer{Protocol::Tcp, boost::asio::ip::make_address("203.0.113.254"), 65535, 0};
  EXPECT_EQ(peer.to_string(), "tcp:203.0.113.254:65535");
}

}  // namespace
}  // namespace cppbx::transport
