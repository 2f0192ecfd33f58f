// The login throttle: five free failures, then a growing wait per address,
// parallel attempts counted, success and time forgiving, other addresses
// unaffected, and the table bounded.
#include <gtest/gtest.h>

#include "http_api/login_throttle.hpp"

namespace cppbx::http_api {
namespace {

using namespace std::chrono_literals;
using Outcome = LoginThrottle::Outcome;

class LoginThrottleTest : public ::testing::Test {
 protected:
  bool attempt(const std::string& address, Outcome outcome) {
    if (throttle.admit(address, now) != 0s) return false;
    throttle.finish(address, outcome, now);
    return true;
  }
  LoginThrottle throttle;
  LoginThrottle::Clock::time_point now = LoginThrottle::Clock::time_point(1000h);
};

TEST_F(LoginThrottleTest, FiveFreeFailuresThenAWait) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(attempt("192.0.2.1", Outcome::Failed)) << i;
  EXPECT_EQ(throttle.admit("192.0.2.1", now), 30s);
  now += 10s;
  EXPECT_EQ(throttle.admit("192.0.2.1", now), 20s);
  EXPECT_EQ(throttle.admit("192.0.2.2", now), 0s) << "another address is not slowed";
}

TEST_F(LoginThrottleTest, WaitDoublesAndIsCapped) {
  for (int i = 0; i < 5; ++i) attempt("a", Outcome::Failed);
  std::vector<std::chrono::seconds> waits;
  for (int i = 0; i < 8; ++i) {
    auto wait = throttle.admit("a", now);
    waits.push_back(wait);
    now += wait;
    ASSERT_TRUE(attempt("a", Outcome::Failed));
  }
  EXPECT_EQ(waits, (std::vector<std::chrono::seconds>{30s, 60s, 120s, 240s, 480s, 900s, 900s, 900s}));
}

TEST_F(LoginThrottleTest, SuccessForgivesFailures) {
  for (int i = 0; i < 4; ++i) attempt("a", Outcome::Failed);
  ASSERT_TRUE(attempt("a", Outcome::Succeeded));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(attempt("a", Outcome::Failed)) << i;
  EXPECT_GT(throttle.admit("a", now), 0s);
}

TEST_F(LoginThrottleTest, AfterTheWaitOneAttemptAtATime) {
  for (int i = 0; i < 5; ++i) attempt("a", Outcome::Failed);
  now += 30s;
  ASSERT_EQ(throttle.admit("a", now), 0s);
  EXPECT_GT(throttle.admit("a", now), 0s) << "a second guess while the first is checked";
  throttle.finish("a", Outcome::Failed, now);
  EXPECT_EQ(throttle.admit("a", now), 60s);
}

TEST_F(LoginThrottleTest, WindowResetsTheCount) {
  for (int i = 0; i < 4; ++i) attempt("a", Outcome::Failed);
  now += 601s;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(attempt("a", Outcome::Failed)) << "count restarted " << i;
  EXPECT_EQ(throttle.admit("a", now), 30s);
}

TEST_F(LoginThrottleTest, ParallelAttemptsCountBeforeTheyFinish) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(throttle.admit("a", now), 0s);
  EXPECT_GT(throttle.admit("a", now), 0s) << "a sixth guess in flight is refused";
  for (int i = 0; i < 5; ++i) throttle.finish("a", Outcome::Abandoned, now);
  EXPECT_EQ(throttle.admit("a", now), 0s) << "abandoned attempts are not failures";
}

TEST_F(LoginThrottleTest, TableIsBounded) {
  LoginThrottleOptions options;
  options.max_addresses = 10;
  LoginThrottle small(options);
  for (int i = 0; i < 50; ++i) {
    std::string address = "198.51.100." + std::to_string(i);
    ASSERT_EQ(small.admit(address, now), 0s);
    small.finish(address, Outcome::Failed, now);
    now += 1s;
  }
  EXPECT_LE(small.tracked_addresses(), 10u);
}

}  // namespace
}  // namespace cppbx::http_api
