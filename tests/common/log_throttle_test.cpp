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

}  // namespace
}  // namespace cppbx::log
