// aor_key: the normalization every locator relies on to find a user's
// bindings whatever form of the address the phone used.
#include "location/aor.hpp"

#include "sip/uri.hpp"

#include <gtest/gtest.h>

namespace cppbx::location {
namespace {

sip::Uri make_uri(sip::UriScheme scheme, std::string_view user, std::string_view host, uint16_t port = 0) {
  sip::Uri uri;
  uri.scheme = scheme;
  uri.user = user;
  uri.host = host;
  uri.port = port;
  return uri;
}

TEST(AorKey, BuildsSipUserAtDomain) {
  EXPECT_EQ(aor_key("alice", "example.com"), "sip:alice@example.com");
}

TEST(AorKey, LowercasesTheDomainButNotTheUser) {
  EXPECT_EQ(aor_key("Alice", "EXAMPLE.Com"), "sip:Alice@example.com");
  EXPECT_NE(aor_key("Alice", "example.com"), aor_key("alice", "example.com"));
}

TEST(AorKey, DropsThePort) {
  EXPECT_EQ(aor_key("alice", "10.0.0.5:5060"), aor_key("alice", "10.0.0.5"));
  EXPECT_EQ(aor_key("alice", "[2001:db8::1]:5060"), "sip:alice@[2001:db8::1]");
  EXPECT_EQ(aor_key("alice", "[2001:db8::1]"), "sip:alice@[2001:db8::1]");
}

TEST(AorKey, KeepsABareIpv6AddressIntact) {
  // Several colons without brackets cannot be host:port.
  EXPECT_EQ(aor_key("alice", "2001:db8::1"), "sip:alice@2001:db8::1");
}

TEST(AorKey, UnescapesTheUser) {
  EXPECT_EQ(aor_key("%61lice", "example.com"), "sip:alice@example.com");
  EXPECT_EQ(aor_key("bob%20smith", "example.com"), "sip:bob smith@example.com");
}

TEST(AorKey, KeepsMalformedEscapesLiterally) {
  EXPECT_EQ(aor_key("a%G1", "x.org"), "sip:a%G1@x.org");
  EXPECT_EQ(aor_key("a%4", "x.org"), "sip:a%4@x.org");
  EXPECT_EQ(aor_key("a%", "x.org"), "sip:a%@x.org");
}

TEST(AorKey, UriWithoutUserIsTheDomain) {
  EXPECT_EQ(aor_key("", "Example.com"), "sip:example.com");
}

TEST(AorKey, FromUriFoldsSipsAndIgnoresPortAndParams) {
  sip::Uri sips = make_uri(sip::UriScheme::Sips, "alice", "Example.COM", 5061);
  sips.params = "transport=tls";
  sip::Uri plain = make_uri(sip::UriScheme::Sip, "alice", "example.com");
  EXPECT_EQ(aor_key(sips), "sip:alice@example.com");
  EXPECT_EQ(aor_key(sips), aor_key(plain));
}

TEST(AorKey, FromUriWithPortEqualsWithout) {
  EXPECT_EQ(aor_key(make_uri(sip::UriScheme::Sip, "alice", "10.0.0.5", 5060)),
            aor_key(make_uri(sip::UriScheme::Sip, "alice", "10.0.0.5")));
}

TEST(AorKey, ParsedUrisOfTheSameUserShareAKey) {
  auto key_of = [](std::string_view text) {
    auto uri = sip::parse_uri(text);
    EXPECT_TRUE(uri.has_value()) << text;
    return uri ? aor_key(*uri) : std::string();
  };
  const std::string expected = "sip:alice@example.com";
  EXPECT_EQ(key_of("sip:alice@example.com"), expected);
  EXPECT_EQ(key_of("sips:alice@EXAMPLE.com:5061;transport=tls"), expected);
  EXPECT_EQ(key_of("sip:%61lice@example.com:5060"), expected);
  EXPECT_EQ(key_of("sip:alice@[2001:db8::1]:5060"), "sip:alice@[2001:db8::1]");
  EXPECT_NE(key_of("sip:bob@example.com"), expected);
}

}  // namespace
}  // namespace cppbx::location
