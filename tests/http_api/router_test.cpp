// The router: literal and {name} segments, the more literal route winning,
// 405 information, percent-decoding of parameters and queries.
#include <gtest/gtest.h>

#include "http_api/router.hpp"

namespace cppbx::http_api {
namespace {

Handler named(std::string* hit, std::string name) {
  return [hit, name](const Request&, Responder) { *hit = name; };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add("GET", "/api/extensions", named(&hit, "list"));
    router.add("POST", "/api/extensions", named(&hit, "create"));
    router.add("POST", "/api/extensions/generate-password", named(&hit, "generate"));
    router.add("GET", "/api/extensions/{username}", named(&hit, "show"));
    router.add("DELETE", "/api/extensions/{username}", named(&hit, "delete"));
    router.add("POST", "/api/extensions/{username}/enable", named(&hit, "enable"));
    router.add("POST", "/api/login", named(&hit, "login"), RouteAccess::Public);
  }
  std::string run(std::string_view method, std::string_view path) {
    hit.clear();
    RouteMatch match = router.match(method, path);
    if (match.route) match.route->handler(Request{}, [](Response) {});
    return hit;
  }
  Router router;
  std::string hit;
};

TEST_F(RouterTest, LiteralRoutesMatchByMethod) {
  EXPECT_EQ(run("GET", "/api/extensions"), "list");
  EXPECT_EQ(run("POST", "/api/extensions"), "create");
  EXPECT_EQ(run("POST", "/api/login"), "login");
  EXPECT_EQ(router.match("POST", "/api/login").route->access, RouteAccess::Public);
  EXPECT_EQ(router.match("GET", "/api/extensions").route->access, RouteAccess::Session);
}

TEST_F(RouterTest, PlaceholderCapturesDecodedSegment) {
  RouteMatch match = router.match("GET", "/api/extensions/al%20ice");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->pattern, "/api/extensions/{username}");
  EXPECT_EQ(match.params.at("username"), "al ice");
  EXPECT_EQ(run("POST", "/api/extensions/1001/enable"), "enable");
}

TEST_F(RouterTest, MoreLiteralRouteWins) {
  EXPECT_EQ(run("POST", "/api/extensions/generate-password"), "generate");
  // GET on the same path is the {username} route (an extension may be named so).
  EXPECT_EQ(run("GET", "/api/extensions/generate-password"), "show");
}

TEST_F(RouterTest, WrongMethodListsAllowedOnes) {
  RouteMatch match = router.match("PATCH", "/api/extensions/1001");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_EQ(match.allowed_methods, (std::vector<std::string>{"GET", "DELETE"}));
}

TEST_F(RouterTest, UnknownPathsAndEmptyOrBrokenSegmentsDoNotMatch) {
  EXPECT_EQ(router.match("GET", "/api/nothing").route, nullptr);
  EXPECT_TRUE(router.match("GET", "/api/nothing").allowed_methods.empty());
  EXPECT_EQ(router.match("GET", "/api/extensions/").route, nullptr);
  EXPECT_EQ(router.match("GET", "/api/extensions/%zz").route, nullptr);
  EXPECT_EQ(router.match("GET", "/api/extensions/a%00b").route, nullptr);
  EXPECT_EQ(router.match("GET", "/api/extensions/1001/extra").route, nullptr);
}

TEST(QueryTest, DecodesPlusAndPercentAndSkipsBadPairs) {
  auto query = parse_query("search=bo+b%21&page=2&&=x&bad=%4&flag");
  EXPECT_EQ(query.at("search"), "bo b!");
  EXPECT_EQ(query.at("page"), "2");
  EXPECT_EQ(query.at("flag"), "");
  EXPECT_EQ(query.count("bad"), 0u);
  EXPECT_EQ(query.size(), 3u);
}

TEST(PercentDecodeTest, RejectsTruncatedEscapes) {
  EXPECT_EQ(percent_decode("a%2", false), std::nullopt);
  EXPECT_EQ(percent_decode("%", false), std::nullopt);
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
}

}  // namespace
}  // namespace cppbx::http_api
