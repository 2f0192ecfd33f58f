// Sessions: random ids and tokens, idle expiry on a hand-moved clock, the
// bound on their number, cookie attributes and cookie parsing.
#include <gtest/gtest.h>

#include <set>

#include "http_api/sessions.hpp"

namespace cppbx::http_api {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point(100h);
};

SessionOptions options_with(FakeClock& clock, std::chrono::seconds idle, size_t max = 100) {
  SessionOptions options;
  options.idle_timeout = idle;
  options.max_sessions = max;
  options.now = [&clock] { return clock.now; };
  return options;
}

TEST(SessionStoreTest, IdsAndTokensAre256BitHexAndDistinct) {
  SessionStore store;
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    SessionView view = store.create("admin");
    EXPECT_EQ(view.id.size(), 64u);
    EXPECT_EQ(view.csrf_token.size(), 64u);
    EXPECT_EQ(view.id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(view.id).second);
    EXPECT_TRUE(seen.insert(view.csrf_token).second);
  }
}

TEST(SessionStoreTest, IdleSessionExpiresAndUseExtendsIt) {
  FakeClock clock;
  SessionStore store(options_with(clock, 3600s));
  SessionView view = store.create("admin");
  clock.now += 3000s;
  ASSERT_TRUE(store.touch(view.id));  // used: the hour starts again
  clock.now += 3000s;
  auto again = store.touch(view.id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->username, "admin");
  EXPECT_EQ(again->csrf_token, view.csrf_token);
  clock.now += 3600s;
  EXPECT_FALSE(store.touch(view.id));
  EXPECT_EQ(store.size(), 0u) << "an expired session is removed";
  EXPECT_FALSE(store.touch("unknown"));
}

TEST(SessionStoreTest, FullStoreDropsTheLeastRecentlyUsed) {
  FakeClock clock;
  SessionStore store(options_with(clock, 3600s, 3));
  SessionView first = store.create("a");
  clock.now += 1s;
  SessionView second = store.create("b");
  clock.now += 1s;
  SessionView third = store.create("c");
  clock.now += 1s;
  ASSERT_TRUE(store.touch(first.id));
  SessionView fourth = store.create("d");
  EXPECT_EQ(store.size(), 3u);
  EXPECT_TRUE(store.touch(first.id));
  EXPECT_FALSE(store.touch(second.id));
  EXPECT_TRUE(store.touch(third.id));
  EXPECT_TRUE(store.touch(fourth.id));
}

TEST(CookieTest, SessionCookieHasTheSecurityAttributes) {
  std::string cookie = session_cookie("abc", false, 28800s);
  EXPECT_EQ(cookie, "cppbx_session=abc; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict");
  EXPECT_NE(session_cookie("abc", true, 60s).find("; Secure"), std::string::npos);
  EXPECT_NE(expired_session_cookie(false).find("Max-Age=0"), std::string::npos);
}

TEST(CookieTest, FindsTheNamedCookieAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; cppbx_session=xyz ;b=2", "cppbx_session"), "xyz");
  EXPECT_EQ(cookie_value("xcppbx_session=1", "cppbx_session"), std::nullopt);
  EXPECT_EQ(cookie_value("", "cppbx_session"), std::nullopt);
  EXPECT_EQ(cookie_value("cppbx_session", "cppbx_session"), std::nullopt);
}

TEST(TokenTest, SameTokenNeedsEqualNonEmptyStrings) {
  EXPECT_TRUE(same_token("abcd", "abcd"));
  EXPECT_FALSE(same_token("abcd", "abce"));
  EXPECT_FALSE(same_token("abcd", "abc"));
  EXPECT_FALSE(same_token("", ""));
}

TEST(MethodTest, StateChangingMethods) {
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) EXPECT_TRUE(is_state_changing(method));
  for (const char* method : {"GET", "HEAD", "OPTIONS"}) EXPECT_FALSE(is_state_changing(method));
}

}  // namespace
}  // namespace cppbx::http_api
