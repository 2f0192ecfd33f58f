// Random helpers: shape of the output and that two draws differ (a constant
// or badly seeded generator would fail the latter).
#include "common/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <vector>

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

TEST(Random, BufferedBytesAcrossRefillsAreNeitherRepeatedNorZero) {
  // 1000 draws of 8 bytes span about 30 refills of the per-thread reserve.
  std::set<std::array<uint8_t, 8>> seen;
  std::array<size_t, 256> histogram{};
  for (int i = 0; i < 1000; ++i) {
    std::array<uint8_t, 8> draw{};
    cppbx::random::fill_secure_buffered(draw.data(), draw.size());
    EXPECT_TRUE(seen.insert(draw).second) << "draw " << i << " repeated";
    for (uint8_t byte : draw) ++histogram[byte];
  }
  // 8000 bytes over 256 values: about 31 each; a stuck or zeroed reserve
  // would pile them on few values.
  for (size_t value = 0; value < histogram.size(); ++value) {
    EXPECT_GT(histogram[value], 5u) << "byte value " << value;
    EXPECT_LT(histogram[value], 80u) << "byte value " << value;
  }
}

TEST(Random, BufferedBytesServeRequestsLargerThanTheReserve) {
  std::vector<uint8_t> big(1000, 0);
  cppbx::random::fill_secure_buffered(big.data(), big.size());
  size_t zeros = static_cast<size_t>(std::count(big.begin(), big.end(), 0));
  EXPECT_LT(zeros, 20u);  // about 4 expected
}

}  // namespace
