// The rules every request passes: 401 without a valid session (also for
// unknown paths), 404/405, 403 without the right X-CSRF-Token on
// state-changing methods, 415 for a non-JSON body, and a throwing handler
// answered with 500 that holds no exception text.
#include <gtest/gtest.h>

#include <stdexcept>

#include "http_api/dispatcher.hpp"

namespace cppbx::http_api {
namespace {

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ok = [this](const Request& request, Responder respond) {
      seen = request;
      respond(Response::json(200, {{"ok", true}}));
    };
    router.add("POST", "/api/login", ok, RouteAccess::Public);
    router.add("GET", "/api/session", ok);
    router.add("POST", "/api/extensions", ok);
    router.add("PUT", "/api/extensions/{username}", ok);
    router.add("DELETE", "/api/extensions/{username}", ok);
    router.add("GET", "/api/boom", [](const Request&, Responder) { throw std::runtime_error("secret detail"); });
    session = sessions.create("admin");
  }

  Request request(std::string method, std::string path, bool with_cookie = true) {
    Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    if (with_cookie) r.headers["cookie"] = "other=1; cppbx_session=" + session.id;
    return r;
  }

  Response dispatch(Request r) {
    Response answer;
    int answers = 0;
    dispatcher.dispatch(std::move(r), [&](Response response) {
      answer = std::move(response);
      ++answers;
    });
    EXPECT_EQ(answers, 1);
    return answer;
  }

  Router router;
  SessionStore sessions;
  Dispatcher dispatcher{router, sessions};
  SessionView session;
  Request seen;
};

TEST_F(DispatcherTest, EveryNonPublicRouteNeedsASession) {
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/session"}, {"POST", "/api/extensions"}, {"DELETE", "/api/extensions/1"},
           {"GET", "/api/unknown"}, {"PATCH", "/api/session"}}) {
    EXPECT_EQ(dispatch(request(method, path, false)).status, 401) << method << " " << path;
  }
  Request forged = request("GET", "/api/session", false);
  forged.headers["cookie"] = "cppbx_session=" + std::string(64, 'a');
  EXPECT_EQ(dispatch(forged).status, 401);
}

TEST_F(DispatcherTest, ValidSessionReachesTheHandlerWithWhoItIs) {
  Response answer = dispatch(request("GET", "/api/session"));
  EXPECT_EQ(answer.status, 200);
  ASSERT_TRUE(seen.session);
  EXPECT_EQ(seen.session->username, "admin");
}

TEST_F(DispatcherTest, LoginIsPublicAndNeedsNoCsrf) {
  Request login = request("POST", "/api/login", false);
  login.headers["content-type"] = "application/json";
  login.body = "{}";
  EXPECT_EQ(dispatch(login).status, 200);
  EXPECT_FALSE(seen.session);
}

TEST_F(DispatcherTest, StateChangingMethodsNeedTheSessionsCsrfToken) {
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    std::string path = std::string(method) == "POST" ? "/api/extensions" : "/api/extensions/1001";
    EXPECT_EQ(dispatch(request(method, path)).status, 403) << method;
    Request wrong = request(method, path);
    wrong.headers["x-csrf-token"] = sessions.create("other").csrf_token;
    EXPECT_EQ(dispatch(wrong).status, 403) << method;
    Request right = request(method, path);
    right.headers["x-csrf-token"] = session.csrf_token;
    EXPECT_EQ(dispatch(right).status, 200) << method;
  }
  EXPECT_EQ(seen.param("username"), "1001");
  EXPECT_EQ(dispatch(request("GET", "/api/session")).status, 200) << "GET needs no token";
}

TEST_F(DispatcherTest, BodiesMustBeJson) {
  Request form = request("POST", "/api/extensions");
  form.headers["x-csrf-token"] = session.csrf_token;
  form.headers["content-type"] = "application/x-www-form-urlencoded";
  form.body = "username=1";
  EXPECT_EQ(dispatch(form).status, 415);
  form.headers["content-type"] = "application/json; charset=utf-8";
  EXPECT_EQ(dispatch(form).status, 200);
}

TEST_F(DispatcherTest, UnknownRouteAndWrongMethod) {
  EXPECT_EQ(dispatch(request("GET", "/api/unknown")).status, 404);
  Response wrong = dispatch(request("GET", "/api/extensions"));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "POST");
  EXPECT_EQ(dispatch(request("GET", "/elsewhere/")).status, 404);  // neither /api nor the console
}

TEST_F(DispatcherTest, ThrowingHandlerGives500WithoutItsMessage) {
  Response answer = dispatch(request("GET", "/api/boom"));
  EXPECT_EQ(answer.status, 500);
  EXPECT_EQ(answer.body.find("secret detail"), std::string::npos);
}

TEST_F(DispatcherTest, LoggedOutSessionIsRefused) {
  sessions.remove(session.id);
  EXPECT_EQ(dispatch(request("GET", "/api/session")).status, 401);
}

}  // namespace
}  // namespace cppbx::http_api
