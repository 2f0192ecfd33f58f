// ServerIdentity: which domains are ours and which realm a request uses.
#include "proxy/server_identity.hpp"

#include <gtest/gtest.h>

namespace cppbx::proxy {
namespace {

TEST(NormalizeHost, DropsPortAndLowercases) {
  EXPECT_EQ(normalize_host("Example.COM:5060"), "example.com");
  EXPECT_EQ(normalize_host("[2001:DB8::1]:5070"), "[2001:db8::1]");
  EXPECT_EQ(normalize_host("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(normalize_host("10.0.0.5"), "10.0.0.5");
}

TEST(ServerIdentity, LocalDomainsAreRealmsOwnAddressesAndLocalhost) {
  ServerIdentity identity({"Example.com"}, {"10.0.0.5", "2001:db8::1"}, "cppbx");
  EXPECT_TRUE(identity.is_local_domain("example.COM"));
  EXPECT_TRUE(identity.is_local_domain("10.0.0.5"));
  EXPECT_TRUE(identity.is_local_domain("10.0.0.5:5060")) << "port ignored";
  EXPECT_TRUE(identity.is_local_domain("[2001:db8::1]"));
  EXPECT_TRUE(identity.is_local_domain("localhost"));
  EXPECT_TRUE(identity.is_local_domain("127.0.0.1"));
  EXPECT_FALSE(identity.is_local_domain("other.example.org"));
  EXPECT_FALSE(identity.is_local_domain("10.0.0.6"));
}

TEST(ServerIdentity, WithoutRealmsEveryDomainIsLocal) {
  ServerIdentity identity({}, {"10.0.0.5"}, "cppbx");
  EXPECT_TRUE(identity.is_local_domain("anything.example.net"));
  EXPECT_EQ(identity.realm_for("Anything.Example.net:5060"), "anything.example.net");
}

TEST(ServerIdentity, RealmIsTheRequestDomainWhenListedElseTheFirstRealm) {
  ServerIdentity identity({"a.example.com", "b.example.com"}, {"10.0.0.5"}, "cppbx");
  EXPECT_EQ(identity.realm_for("B.example.com"), "b.example.com");
  EXPECT_EQ(identity.realm_for("10.0.0.5:5060"), "a.example.com");
}

}  // namespace
}  // namespace cppbx::proxy
