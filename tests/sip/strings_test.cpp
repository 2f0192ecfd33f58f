// common/strings helpers (tested here because the SIP layer is their main user).
#include <gtest/gtest.h>

#include "common/strings.hpp"

namespace cppbx {
namespace {

TEST(Strings, CaseInsensitiveComparison) {
  EXPECT_TRUE(iequals("Call-ID", "call-id"));
  EXPECT_FALSE(iequals("Call-ID", "Call-IDs"));
  EXPECT_FALSE(iequals("a", "b"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(istarts_with("SIP/2.0", "sip/"));
  EXPECT_FALSE(istarts_with("SI", "sip/"));
  EXPECT_EQ(to_lower("MiXeD-09"), "mixed-09");
}

TEST(Strings, Trim) {
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim_left("  x "), "x ");
  EXPECT_EQ(trim_right("  x "), "  x");
}

}  // namespace
}  // namespace cppbx
