// The shared HTTP client against a real recording service
// (tests/support/http_services/recorder_service.py on a free loopback port):
// methods, headers and bodies as the service received them, keep-alive reuse,
// timeouts, the body cap, the in-flight bound, error classification, and
// callbacks exactly once even when the client is destroyed.
#include "http_client/http_client.hpp"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

#include "../support/python_service.hpp"

namespace cppbx::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class HttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { service_ = new test::PythonService("recorder_service.py"); }
  static void TearDownTestSuite() {
    delete service_;
    service_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(service_->running());
    service_->post_json("/_reset", nlohmann::json::object());
  }

  static std::shared_ptr<HttpClient> make(HttpClientOptions options = {}) {
    auto client = HttpClient::create(std::move(options));
    EXPECT_TRUE(client);
    return client;
  }

  static HttpResponse send(HttpClient& client, HttpRequest request) {
    std::promise<HttpResponse> answer;
    client.submit(std::move(request), [&](HttpResponse r) { answer.set_value(std::move(r)); });
    auto future = answer.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    return future.get();
  }

  static HttpRequest get(const std::string& path) {
    HttpRequest r;
    r.url = service_->url(path);
    return r;
  }

  static test::PythonService* service_;
};

test::PythonService* HttpClientTest::service_ = nullptr;

TEST_F(HttpClientTest, PostSendsBodyAndHeadersAsReceivedByTheService) {
  auto client = make();
  HttpRequest request;
  request.method = "POST";
  request.url = service_->url("/echo");
  request.headers = {{"Content-Type", "application/json"}, {"X-API-Key", "secret-123"}};
  request.body = R"({"event":"registered"})";
  HttpResponse response = send(*client, request);
  ASSERT_TRUE(response.answered()) << response.detail;
  EXPECT_EQ(response.status, 200);
  auto seen = service_->requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["method"], "POST");
  EXPECT_EQ(seen[0]["body"], R"({"event":"registered"})");
  EXPECT_EQ(seen[0]["headers"]["X-API-Key"], "secret-123");
  EXPECT_EQ(seen[0]["headers"]["Content-Type"], "application/json");
  EXPECT_FALSE(seen[0]["headers"].contains("Expect"));
  // The answer body is what the service sent: its record of the request.
  auto echoed = nlohmann::json::parse(response.body, nullptr, false);
  EXPECT_EQ(echoed["path"], "/echo");
}

TEST_F(HttpClientTest, GetWithQueryAndOtherMethods) {
  auto client = make();
  HttpRequest request = get("/echo");
  request.url = url_with_query(request.url, form_encode({{"aor", "sip:alice@example.com"}}));
  ASSERT_EQ(send(*client, request).status, 200);
  request.method = "DELETE";
  ASSERT_EQ(send(*client, request).status, 200);
  request.method = "PUT";
  request.body = "x=1";
  ASSERT_EQ(send(*client, request).status, 200);
  auto seen = service_->requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0]["method"], "GET");
  EXPECT_EQ(seen[0]["query"], "aor=sip%3Aalice%40example.com");
  EXPECT_EQ(seen[1]["method"], "DELETE");
  EXPECT_EQ(seen[2]["method"], "PUT");
  EXPECT_EQ(seen[2]["body"], "x=1");
}

TEST_F(HttpClientTest, StatusesAreAnswersNotErrors) {
  auto client = make();
  for (long status : {201L, 204L, 400L, 404L, 500L, 503L}) {
    HttpResponse r = send(*client, get("/status/" + std::to_string(status)));
    EXPECT_TRUE(r.answered()) << status << ": " << r.detail;
    EXPECT_EQ(r.status, status);
  }
}

TEST_F(HttpClientTest, ConnectionsAreKeptAlive) {
  auto client = make();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(send(*client, get("/echo")).status, 200);
  auto stats = service_->get_json("/_requests");
  // Five requests over one connection (the /_requests and /_reset calls of
  // the test each open their own).
  EXPECT_EQ(stats["requests"].size(), 5u);
  const int before = stats["connections"].get<int>();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(send(*client, get("/echo")).status, 200);
  const int after = service_->get_json("/_requests")["connections"].get<int>();
  EXPECT_EQ(after - before, 1) << "only the /_requests call itself opens a connection";
}

TEST_F(HttpClientTest, TimeoutIsClassifiedAndDoesNotWaitForTheService) {
  auto client = make();
  HttpRequest request = get("/slow/2000");
  request.timeout = 300ms;
  const auto start = Clock::now();
  HttpResponse r = send(*client, request);
  const auto waited = Clock::now() - start;
  EXPECT_EQ(r.error, HttpError::Timeout);
  EXPECT_NE(r.detail.find("no answer within 300 ms"), std::string::npos) << r.detail;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 1500ms);
}

TEST_F(HttpClientTest, ConnectionRefusedIsAConnectError) {
  auto client = make();
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(test::free_tcp_port()) + "/x";
  HttpResponse r = send(*client, request);
  EXPECT_EQ(r.error, HttpError::Connect);
  EXPECT_NE(r.detail.find("request failed"), std::string::npos) << r.detail;
}

TEST_F(HttpClientTest, DroppedConnectionIsAFailure) {
  auto client = make();
  HttpResponse r = send(*client, get("/drop"));
  EXPECT_EQ(r.error, HttpError::Failed) << r.detail;
  EXPECT_FALSE(r.answered());
}

TEST_F(HttpClientTest, BodyCapAbortsLargeAnswers) {
  HttpClientOptions options;
  options.max_body_bytes = 1024;
  auto client = make(options);
  EXPECT_EQ(send(*client, get("/big/1000")).status, 200);
  HttpResponse r = send(*client, get("/big/5000"));
  EXPECT_EQ(r.error, HttpError::BodyTooLarge);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(HttpClientTest, InFlightBoundRefusesInlineAndSlowRequestsRunSideBySide) {
  HttpClientOptions options;
  options.max_in_flight = 2;
  auto client = make(options);
  std::promise<void> both;
  std::atomic<int> done{0};
  const auto start = Clock::now();
  for (int i = 0; i < 2; ++i) {
    client->submit(get("/slow/1000"), [&](HttpResponse r) {
      EXPECT_EQ(r.status, 200);
      if (++done == 2) both.set_value();
    });
  }
  EXPECT_LT(Clock::now() - start, 100ms) << "submit must not wait for the service";
  EXPECT_EQ(client->in_flight(), 2u);
  bool inline_answer = false;
  HttpError refusal = HttpError::None;
  client->submit(get("/echo"), [&](HttpResponse r) {
    inline_answer = true;
    refusal = r.error;
  });
  EXPECT_TRUE(inline_answer);
  EXPECT_EQ(refusal, HttpError::Busy);
  ASSERT_EQ(both.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_LT(Clock::now() - start, 1800ms);  // in parallel, not one after the other
  EXPECT_EQ(client->in_flight(), 0u);
  EXPECT_EQ(send(*client, get("/echo")).status, 200);
}

TEST_F(HttpClientTest, DestroyingTheClientAnswersPendingRequestsOnceWithStopped) {
  auto client = make();
  std::atomic<int> answers{0};
  std::promise<HttpResponse> answered;
  HttpRequest request = get("/slow/3000");
  request.timeout = 10s;
  client->submit(request, [&](HttpResponse r) {
    if (++answers == 1) answered.set_value(std::move(r));
  });
  std::this_thread::sleep_for(100ms);
  const auto start = Clock::now();
  client.reset();
  EXPECT_LT(Clock::now() - start, 1500ms);
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(future.get().error, HttpError::Stopped);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(answers.load(), 1);
}

TEST_F(HttpClientTest, ACallbackMaySubmitAgainAndDropTheLastReference) {
  auto client = make();
  auto holder = std::make_shared<std::shared_ptr<HttpClient>>(client);
  std::promise<long> second;
  client->submit(get("/echo"), [holder, &second](HttpResponse) {
    (*holder)->submit(get("/status/202"), [holder, &second](HttpResponse r) {
      holder->reset();  // the last reference, on the client's own thread
      second.set_value(r.status);
    });
  });
  client.reset();
  auto future = second.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), 202);
}

TEST(UrlHelpers, EncodeQueryAndLogSafeUrls) {
  EXPECT_EQ(form_encode({{"aor", "sip:a b@x"}, {"k", "~._-"}}), "aor=sip%3Aa%20b%40x&k=~._-");
  EXPECT_EQ(url_with_query("http://h/p", "a=1"), "http://h/p?a=1");
  EXPECT_EQ(url_with_query("http://h/p?x=1#f", "a=1"), "http://h/p?x=1&a=1#f");
  EXPECT_EQ(url_for_logs("https://user:pw@h:8080/p/q?key=secret#f"), "https://h:8080/p/q");
  EXPECT_EQ(printable("a\r\nb"), "a??b");
}

}  // namespace
}  // namespace cppbx::http
