#include "common/log_throttle.hpp"

#include <gtest/gtest.h>

namespace cppbx::log {
namespace {

using namespace std::chrono_literals;

TEST(LogThrottle, FirstOccurrenceIsWrittenThenHeldBackUntilTheIntervalPasses) {
  Throttle throttle(10s);
  const auto start = Throttle::Clock::time_point{} + 100s;
  EXPECT_EQ(throttle.admit(start), std::optional<uint64_t>(0));
  EXPECT_EQ(throttle.admit(start + 1s), std::nullopt);
  EXPECT_EQ(throttle.admit(start + 9s), std::nullopt);
  // The next line reports the two held back.
  EXPECT_EQ(throttle.admit(start + 10s), std::optional<uint64_t>(2));
  EXPECT_EQ(throttle.admit(start + 11s), std::nullopt);
  EXPECT_EQ(throttle.admit(start + 30s), std::optional<uint64_t>(1));
}

TEST(LogThrottle, EachKindOfProblemIsThrottledOnItsOwn) {
  ThrottleByKey throttle(10s, 2);
  const auto start = Throttle::Clock::time_point{} + 100s;
  EXPECT_TRUE(throttle.admit("timeout", start));
  EXPECT_TRUE(throttle.admit("bad json", start));  // another cause: reported at once
  EXPECT_FALSE(throttle.admit("timeout", start + 1s));
  EXPECT_FALSE(throttle.admit("bad json", start + 2s));
  EXPECT_EQ(throttle.admit("timeout", start + 10s), std::optional<uint64_t>(1));
  // Past max_keys the kinds start afresh rather than grow without bound.
  EXPECT_TRUE(throttle.admit("refused", start + 11s));
  EXPECT_TRUE(throttle.admit("timeout", start + 11s));
}

}  // namespace
}  // namespace cppbx::log
