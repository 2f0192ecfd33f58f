// Random helpers: shape of the output and that two draws differ (a constant
// or badly seeded generator would fail the latter).
#include "common/random.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>

namespace {

TEST(Random, AlphanumericHasRequestedLengthAndAlphabet) {
  for (size_t length : {0u, 1u, 16u, 200u}) {
    std::string token = cppbx::random::alphanumeric(length);
    ASSERT_EQ(token.size(), length);
    for (char c : token) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
  }
}

TEST(Random, AlphanumericDrawsDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(cppbx::random::alphanumeric(16));
  EXPECT_EQ(seen.size(), 50u);
}

TEST(Random, AlphanumericUsesTheWholeAlphabet) {
  std::string many = cppbx::random::alphanumeric(20000);
  std::set<char> distinct(many.begin(), many.end());
  EXPECT_EQ(distinct.size(), 62u);
}

TEST(Random, HexIsTwiceTheByteCount) {
  std::string value = cppbx::random::hex(8);
  ASSERT_EQ(value.size(), 16u);
  for (char c : value) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)));
  EXPECT_NE(value, cppbx::random::hex(8));
}

}  // namespace
