// realm_matches(): empty user realm matches all; otherwise host comparison.
#include <gtest/gtest.h>

#include "users/user_backend.hpp"

namespace cppbx::users {
namespace {

TEST(RealmMatches, EmptyUserRealmMatchesEverything) {
  EXPECT_TRUE(realm_matches("", "example.com"));
  EXPECT_TRUE(realm_matches("", ""));
}

TEST(RealmMatches, CaseInsensitiveAndPortIgnored) {
  EXPECT_TRUE(realm_matches("Example.COM", "example.com"));
  EXPECT_TRUE(realm_matches("example.com", "example.com:5060"));
  EXPECT_TRUE(realm_matches("10.0.0.5:5070", "10.0.0.5"));
  EXPECT_TRUE(realm_matches("[::1]", "[::1]:5060"));
  EXPECT_TRUE(realm_matches("::1", "::1"));
}

TEST(RealmMatches, DifferentDomainsDoNotMatch) {
  EXPECT_FALSE(realm_matches("example.com", "example.org"));
  EXPECT_FALSE(realm_matches("example.com", "sub.example.com"));
  EXPECT_FALSE(realm_matches("example.com", ""));
  EXPECT_FALSE(realm_matches("[::1]", "[::2]:5060"));
}

}  // namespace
}  // namespace cppbx::users
