// The http user backend against real services: the FastAPI example of
// docs/user-backends.md (POST), a GET service with custom field names and an
// API key, and a hostile service (tests/support/http_services/). Each service
// is a /usr/bin/python3 process on a free loopback port, started once per
// suite and stopped at its end. Facts are checked at the service (its
// /_stats counts lookups and connections and records the last request), not
// taken from the backend's word. The protocol mapping is also tested as a
// pure function, without a server.
#include "users/http_backend.hpp"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "support/python_service.hpp"
#include "test_support.hpp"
#include "users/backend_factory.hpp"

namespace cppbx::users {
namespace {

using namespace std::chrono_literals;
using testing::backend_config;
using testing::has_diagnostic;
using Clock = std::chrono::steady_clock;

const std::string kApiKey = "k3y-never-logged-81723";

// A service from tests/support/http_services with its own counters
// (GET /_stats on a fresh connection: lookups, connections, last request).
class Service : public test::PythonService {
 public:
  using PythonService::PythonService;
  nlohmann::json stats() const {
    nlohmann::json answer = get_json("/_stats");
    return answer.is_object() ? answer : nlohmann::json::object();
  }
  int lookups() const { return stats().value("lookups", -1); }
};

LookupResult lookup_wait(UserBackend& backend, const std::string& username,
                         const std::string& realm = "example.com") {
  auto answered = std::make_shared<std::promise<LookupResult>>();
  auto future = answered->get_future();
  backend.lookup({username, realm}, [answered](LookupResult r) { answered->set_value(std::move(r)); });
  if (future.wait_for(15s) != std::future_status::ready) {
    ADD_FAILURE() << "no answer for " << username;
    return LookupResult::error("test: no answer");
  }
  return future.get();
}

std::shared_ptr<HttpBackend> make(HttpBackendOptions options) {
  std::string error;
  auto backend = HttpBackend::create(std::move(options), &error);
  EXPECT_TRUE(backend) << error;
  return backend;
}

// The answer when it comes inline (from the cache), nullopt otherwise. A late
// answer from the engine thread lands in shared state, not on a dead stack.
std::optional<LookupResult> answered_inline(UserBackend& backend, const std::string& username) {
  auto answer = std::make_shared<std::optional<LookupResult>>();
  backend.lookup({username, "example.com"}, [answer, caller = std::this_thread::get_id()](LookupResult r) {
    if (std::this_thread::get_id() == caller) *answer = std::move(r);
  });
  return *answer;
}

bool contains(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

// Captures everything spdlog's default logger writes while alive.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() {
    spdlog::default_logger()->flush();
    return stream_.str();
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

// ---------------------------------------------------------------------------
// The protocol as a pure function.

TEST(HttpAnswer, SuccessPayloadIsAFoundUserAndUnknownFieldsAreIgnored) {
  auto r = interpret_http_answer(
      200,
      R"({"id": 1, "username": "1001", "password": "pw", "realm": "example.com",
          "display_name": "Alice", "enabled": false, "allow_guest_calls": true, "x": [1]})",
      "1001");
  ASSERT_EQ(r.outcome, LookupOutcome::Found);
  EXPECT_EQ(r.user.username, "1001");
  EXPECT_EQ(r.user.password, "pw");
  EXPECT_EQ(r.user.realm, "example.com");
  EXPECT_EQ(r.user.display_name, "Alice");
  EXPECT_FALSE(r.user.enabled);
  EXPECT_TRUE(r.user.allow_guest_calls);
}

TEST(HttpAnswer, OptionalFieldsMayBeAbsentOrNull) {
  auto r = interpret_http_answer(200, R"({"password": "pw", "realm": null, "display_name": null})", "bob");
  ASSERT_EQ(r.outcome, LookupOutcome::Found);
  EXPECT_EQ(r.user.username, "bob");
  EXPECT_EQ(r.user.realm, "");
  EXPECT_TRUE(r.user.enabled);
  EXPECT_FALSE(r.user.allow_guest_calls);
}

TEST(HttpAnswer, EveryReasonMapsToItsOutcome) {
  struct Case {
    const char* reason;
    long status;
    LookupOutcome outcome;
    int sip_code;
  };
  const Case cases[] = {
      {"not_found", 404, LookupOutcome::NotFound, 0},
      {"not_user", 403, LookupOutcome::NotFound, 0},
      {"invalid_password", 401, LookupOutcome::Denied, 403},
      {"invalid_credentials", 403, LookupOutcome::Denied, 403},
      {"disabled", 403, LookupOutcome::Denied, 403},
      {"blocked", 403, LookupOutcome::Denied, 403},
      {"spam", 403, LookupOutcome::Denied, 403},
      {"spam_detected", 429, LookupOutcome::Denied, 403},
      {"payment_required", 402, LookupOutcome::Denied, 402},
      {"something_new", 403, LookupOutcome::Error, 0},
      {"something_new", 500, LookupOutcome::Error, 0},
  };
  for (const Case& c : cases) {
    std::string body = std::string(R"({"reason": ")") + c.reason + R"(", "message": "m"})";
    auto r = interpret_http_answer(c.status, body, "u");
    EXPECT_EQ(r.outcome, c.outcome) << c.reason << " " << c.status;
    EXPECT_EQ(r.sip_code, c.sip_code) << c.reason;
  }
}

TEST(HttpAnswer, NotFoundWithoutAKnownReasonOnlyFor404) {
  EXPECT_EQ(interpret_http_answer(404, R"({"detail": "User not found"})", "u").outcome,
            LookupOutcome::NotFound);
  EXPECT_EQ(interpret_http_answer(404, "", "u").outcome, LookupOutcome::NotFound);
  auto no_reason = interpret_http_answer(500, R"({"detail": "boom"})", "u");
  EXPECT_EQ(no_reason.outcome, LookupOutcome::Error);
  EXPECT_TRUE(contains(no_reason.detail, "without an error reason")) << no_reason.detail;
}

TEST(HttpAnswer, BadPayloadsAreErrorsThatSayWhy) {
  auto check = [](long status, std::string_view body, const std::string& fragment) {
    auto r = interpret_http_answer(status, body, "u");
    EXPECT_EQ(r.outcome, LookupOutcome::Error) << body;
    EXPECT_TRUE(contains(r.detail, fragment)) << r.detail;
  };
  check(200, R"({"username": "u", "password": )", "invalid JSON");
  check(200, "[1, 2]", "not a JSON object");
  check(200, R"({"username": "u"})", "without a password");
  check(200, R"({"password": 5})", "'password' is not a string");
  check(200, R"({"password": "pw", "enabled": "yes"})", "'enabled'");
  check(204, "", "unexpected HTTP status 204");
  check(502, "<html>gateway</html>", "not JSON");
  check(500, "", "empty body");
}

TEST(HttpAnswer, AReasonFullOfControlCharactersIsNotEchoedRaw) {
  auto r = interpret_http_answer(403, "{\"reason\": \"x\\nFAKE LOG LINE\"}", "u");
  EXPECT_EQ(r.outcome, LookupOutcome::Error);
  EXPECT_FALSE(contains(r.detail, "\n"));
}

TEST(HttpUrl, QueryIsAppendedWithTheRightSeparator) {
  EXPECT_EQ(url_with_query("http://h/p", "a=1"), "http://h/p?a=1");
  EXPECT_EQ(url_with_query("http://h/p?t=x", "a=1"), "http://h/p?t=x&a=1");
  EXPECT_EQ(url_with_query("http://h/p?", "a=1"), "http://h/p?a=1");
  EXPECT_EQ(url_with_query("http://h/p?t=x&", "a=1"), "http://h/p?t=x&a=1");
  EXPECT_EQ(url_with_query("http://h/p#frag", "a=1"), "http://h/p?a=1#frag");
}

TEST(HttpUrl, FormEncodingEscapesEverythingButUnreserved) {
  EXPECT_EQ(form_encode({{"user", "a b&c=d+e%"}, {"realm", "ex.com"}}),
            "user=a%20b%26c%3Dd%2Be%25&realm=ex.com");
  EXPECT_EQ(form_encode({{"u", "\xc3\xa9~_-."}}), "u=%C3%A9~_-.");
}

TEST(HttpUrl, LoggedUrlHasNoUserInfoNorQuery) {
  EXPECT_EQ(url_for_logs("https://user:secret@auth.example.com:8443/verify?key=abc#x"),
            "https://auth.example.com:8443/verify");
  EXPECT_EQ(url_for_logs("http://h?token=1"), "http://h");
}

// ---------------------------------------------------------------------------
// Configuration.

TEST(HttpConfig, FactoryBuildsTheBackendWithItsOptions) {
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config(R"(
type = "http"
url = "http://127.0.0.1:1/verify"
method = "post"
username_field = "user"
realm_field = "domain"
headers = { "X-Api-Key" = "abc" }
timeout_ms = 750
cache_ttl = 30
max_in_flight = 3
)"),
                              diagnostics);
  ASSERT_TRUE(backend);
  EXPECT_TRUE(diagnostics.all().empty());
  auto* http = dynamic_cast<HttpBackend*>(backend.get());
  ASSERT_NE(http, nullptr);
  EXPECT_TRUE(http->options().post);
  EXPECT_EQ(http->options().username_field, "user");
  EXPECT_EQ(http->options().realm_field, "domain");
  ASSERT_EQ(http->options().headers.size(), 1u);
  EXPECT_EQ(http->options().headers[0].first, "X-Api-Key");
  EXPECT_EQ(http->options().timeout, 750ms);
  EXPECT_EQ(http->options().cache_ttl, 30s);
  EXPECT_EQ(http->options().max_in_flight, 3u);
}

TEST(HttpConfig, DefaultsFollowTheReference) {
  config::Diagnostics diagnostics;
  auto backend = make_backend(backend_config("type = \"http\"\nurl = \"http://h/v\"\n"), diagnostics);
  auto* http = dynamic_cast<HttpBackend*>(backend.get());
  ASSERT_NE(http, nullptr);
  EXPECT_FALSE(http->options().post);
  EXPECT_EQ(http->options().username_field, "username");
  EXPECT_EQ(http->options().realm_field, "realm");
  EXPECT_EQ(http->options().timeout, 2000ms);
  EXPECT_EQ(http->options().cache_ttl, 0s);
  EXPECT_EQ(http->options().max_in_flight, 256u);
}

TEST(HttpConfig, InvalidEntriesAreErrorsOnTheirKeys) {
  using Severity = config::Diagnostic::Severity;
  struct Case {
    std::string toml;
    std::string key;
    std::string fragment;
  };
  const std::string k = "proxy.user_backends[0].";
  const Case cases[] = {
      {"type = \"http\"\n", k + "url", "required"},
      {"type = \"http\"\nurl = \"ftp://h/\"\n", k + "url", "http://"},
      {"type = \"http\"\nurl = \"http://h/\"\nmethod = \"PUT\"\n", k + "method", "GET"},
      {"type = \"http\"\nurl = \"http://h/\"\ntimeout_ms = 0\n", k + "timeout_ms", "integer"},
      {"type = \"http\"\nurl = \"http://h/\"\ncache_ttl = -1\n", k + "cache_ttl", "integer"},
      {"type = \"http\"\nurl = \"http://h/\"\nmax_in_flight = \"9\"\n", k + "max_in_flight", "integer"},
      {"type = \"http\"\nurl = \"http://h/\"\nheaders = \"x\"\n", k + "headers", "table"},
      {"type = \"http\"\nurl = \"http://h/\"\nheaders = { \"Bad Name\" = \"v\" }\n", k + "headers",
       "header name"},
      {"type = \"http\"\nurl = \"http://h/\"\nheaders = { \"X-Key\" = \"a\\r\\nInjected: 1\" }\n",
       k + "headers", "line breaks"},
      {"type = \"http\"\nurl = \"http://h/\"\nusername_field = \"\"\n", k + "username_field", "empty"},
  };
  for (const Case& c : cases) {
    config::Diagnostics diagnostics;
    EXPECT_FALSE(make_backend(backend_config(c.toml), diagnostics)) << c.toml;
    EXPECT_TRUE(has_diagnostic(diagnostics, Severity::Error, c.key, c.fragment)) << c.toml;
  }
}

TEST(HttpConfig, HeaderValuesNeverAppearInDiagnostics) {
  config::Diagnostics diagnostics;
  make_backend(backend_config("type = \"http\"\nurl = \"http://h/\"\n"
                              "headers = { \"X-Key\" = \"top-secret\\n\" }\n"),
               diagnostics);
  ASSERT_FALSE(diagnostics.all().empty());
  for (const auto& item : diagnostics.all()) EXPECT_FALSE(contains(item.message, "top-secret"));
}

TEST(HttpConfig, UnknownKeysAreWarnings) {
  config::Diagnostics diagnostics;
  EXPECT_TRUE(make_backend(backend_config("type = \"http\"\nurl = \"http://h/\"\nurl_typo = 1\n"),
                           diagnostics));
  EXPECT_TRUE(has_diagnostic(diagnostics, config::Diagnostic::Severity::Warning,
                             "proxy.user_backends[0].url_typo", "unknown"));
}

// ---------------------------------------------------------------------------
// Against the real services.

// Each service starts on first use (under ctest every test is its own
// process, so a test only pays for the services it talks to) and stops at the
// end of the suite.
class HttpServices : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() {
    fastapi_.reset();
    get_.reset();
    hostile_.reset();
  }

  static Service& started(std::unique_ptr<Service>& slot, const std::string& script,
                          std::vector<std::string> arguments) {
    if (!slot) slot = std::make_unique<Service>(script, std::move(arguments));
    EXPECT_TRUE(slot->running()) << script << " did not start";
    return *slot;
  }
  // The FastAPI example needs python3-fastapi, python3-uvicorn, python3-multipart.
  static Service& fastapi() { return started(fastapi_, "fastapi_example.py", {}); }
  static Service& get() { return started(get_, "get_service.py", {"--api-key", kApiKey}); }
  static Service& hostile() { return started(hostile_, "hostile_service.py", {"--slow-seconds", "1.5"}); }

  static HttpBackendOptions get_options(const std::string& path = "/lookup") {
    HttpBackendOptions o;
    o.url = get().url(path);
    o.username_field = "user";
    o.realm_field = "domain";
    o.headers = {{"X-Api-Key", kApiKey}};
    return o;
  }
  static HttpBackendOptions hostile_options() {
    HttpBackendOptions o;
    o.url = hostile().url("/users");
    return o;
  }

  static std::unique_ptr<Service> fastapi_;
  static std::unique_ptr<Service> get_;
  static std::unique_ptr<Service> hostile_;
};
std::unique_ptr<Service> HttpServices::fastapi_;
std::unique_ptr<Service> HttpServices::get_;
std::unique_ptr<Service> HttpServices::hostile_;

TEST_F(HttpServices, FastApiExampleOverPost) {
  HttpBackendOptions o;
  o.url = fastapi().url("/verify");
  o.post = true;
  auto backend = make(o);
  auto alice = lookup_wait(*backend, "1001", "pbx.example.org");
  ASSERT_EQ(alice.outcome, LookupOutcome::Found) << alice.detail;
  EXPECT_EQ(alice.user.password, "secret-password");
  EXPECT_EQ(alice.user.realm, "pbx.example.org");
  EXPECT_EQ(alice.user.display_name, "Alice Cooper");
  EXPECT_TRUE(alice.user.enabled);

  auto broke = lookup_wait(*backend, "1002");
  EXPECT_EQ(broke.outcome, LookupOutcome::Denied);
  EXPECT_EQ(broke.sip_code, 402);
  auto blocked = lookup_wait(*backend, "1003");
  EXPECT_EQ(blocked.outcome, LookupOutcome::Denied);
  EXPECT_EQ(blocked.sip_code, 403);
  // HTTPException(404) answers {"detail": ...}: not found, the chain moves on.
  EXPECT_EQ(lookup_wait(*backend, "9999").outcome, LookupOutcome::NotFound);
}

TEST_F(HttpServices, PostSendsAFormBody) {
  HttpBackendOptions o = hostile_options();
  o.post = true;
  auto backend = make(o);
  ASSERT_EQ(lookup_wait(*backend, "user a&b", "ex.com").outcome, LookupOutcome::Found);
  auto stats = hostile().stats();
  EXPECT_EQ(stats["last_method"], "POST");
  EXPECT_EQ(stats["last_path"], "/users");
  EXPECT_EQ(stats["last_content_type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(stats["last_body"], "username=user%20a%26b&realm=ex.com");
}

TEST_F(HttpServices, GetWithCustomFieldsAndApiKey) {
  auto backend = make(get_options());
  auto bob = lookup_wait(*backend, "2001");
  ASSERT_EQ(bob.outcome, LookupOutcome::Found) << bob.detail;
  EXPECT_EQ(bob.user.password, "get-secret-2001");
  EXPECT_EQ(bob.user.realm, "example.com");
  EXPECT_TRUE(bob.user.allow_guest_calls);
  EXPECT_EQ(get().stats()["last_method"], "GET");

  auto disabled = lookup_wait(*backend, "2002");
  ASSERT_EQ(disabled.outcome, LookupOutcome::Found);
  EXPECT_FALSE(disabled.user.enabled);
  EXPECT_EQ(lookup_wait(*backend, "nobody").outcome, LookupOutcome::NotFound);
}

TEST_F(HttpServices, ReservedCharactersInTheUsernameSurviveTheRoundTrip) {
  auto backend = make(get_options());
  auto odd = lookup_wait(*backend, "a b&c=d+e%?#/");
  ASSERT_EQ(odd.outcome, LookupOutcome::Found) << odd.detail;
  EXPECT_EQ(odd.user.password, "odd-secret");
}

TEST_F(HttpServices, WrongApiKeyIsAnErrorAndTheKeyIsNeverLogged) {
  LogCapture logs;
  HttpBackendOptions o = get_options();
  o.headers = {{"X-Api-Key", "wrong-" + kApiKey}};
  auto backend = make(o);
  auto r = lookup_wait(*backend, "2001");
  EXPECT_EQ(r.outcome, LookupOutcome::Error);
  EXPECT_TRUE(contains(r.detail, "unknown reason 'unauthorized'")) << r.detail;
  std::string text = logs.text();
  EXPECT_TRUE(contains(text, "unauthorized")) << text;
  EXPECT_FALSE(contains(text, kApiKey)) << text;
}

TEST_F(HttpServices, UrlWithItsOwnQueryKeepsItAndAddsTheFields) {
  auto backend = make(get_options("/lookup?tenant=acme"));
  ASSERT_EQ(lookup_wait(*backend, "2001", "ex.org").outcome, LookupOutcome::Found);
  EXPECT_EQ(get().stats()["last_path"], "/lookup?tenant=acme&user=2001&domain=ex.org");

  auto trailing = make(get_options("/lookup?"));
  ASSERT_EQ(lookup_wait(*trailing, "2001", "ex.org").outcome, LookupOutcome::Found);
  EXPECT_EQ(get().stats()["last_path"], "/lookup?user=2001&domain=ex.org");
}

TEST_F(HttpServices, ConnectionsAreKeptAliveBetweenLookups) {
  auto backend = make(get_options());
  int connections_before = get().stats()["connections"];
  for (int i = 0; i < 10; ++i) ASSERT_EQ(lookup_wait(*backend, "2001").outcome, LookupOutcome::Found);
  int connections_after = get().stats()["connections"];
  // One for the ten lookups, one for the first /_stats query of this test.
  EXPECT_EQ(connections_after - connections_before, 2);
}

TEST_F(HttpServices, WithoutCacheEveryLookupReachesTheService) {
  auto backend = make(get_options());
  int before = get().lookups();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(lookup_wait(*backend, "2001").outcome, LookupOutcome::Found);
  EXPECT_EQ(get().lookups() - before, 3);
  EXPECT_EQ(backend->cached_entries(), 0u);
}

TEST_F(HttpServices, CacheAnswersHitsAndMissesInlineWithoutTheService) {
  HttpBackendOptions o = get_options();
  o.cache_ttl = 60s;
  auto backend = make(o);
  int before = get().lookups();
  ASSERT_EQ(lookup_wait(*backend, "2001").outcome, LookupOutcome::Found);
  ASSERT_EQ(lookup_wait(*backend, "nobody").outcome, LookupOutcome::NotFound);
  EXPECT_EQ(get().lookups() - before, 2);
  for (int i = 0; i < 3; ++i) {
    auto hit = answered_inline(*backend, "2001");  // answered inline: from the cache
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->outcome, LookupOutcome::Found);
    EXPECT_EQ(hit->user.password, "get-secret-2001");
    auto miss = answered_inline(*backend, "nobody");
    ASSERT_TRUE(miss);
    EXPECT_EQ(miss->outcome, LookupOutcome::NotFound);
  }
  EXPECT_EQ(get().lookups() - before, 2);
  // Another realm is another entry.
  ASSERT_EQ(lookup_wait(*backend, "2001", "other.org").outcome, LookupOutcome::Found);
  EXPECT_EQ(get().lookups() - before, 3);
  EXPECT_EQ(backend->cached_entries(), 3u);
}

TEST_F(HttpServices, CachedMissesAndHitsExpire) {
  HttpBackendOptions o = get_options();
  o.cache_ttl = 1s;
  o.miss_ttl = 1s;
  auto backend = make(o);
  int before = get().lookups();
  lookup_wait(*backend, "2001");
  lookup_wait(*backend, "nobody");
  EXPECT_TRUE(answered_inline(*backend, "2001"));
  std::this_thread::sleep_for(1100ms);
  EXPECT_FALSE(answered_inline(*backend, "2001"));  // expired: asks the service again
  EXPECT_EQ(lookup_wait(*backend, "nobody").outcome, LookupOutcome::NotFound);
  EXPECT_GE(get().lookups() - before, 4);
}

TEST_F(HttpServices, CacheIsBounded) {
  HttpBackendOptions o = hostile_options();
  o.cache_ttl = 60s;
  o.cache_capacity = 3;
  auto backend = make(o);
  for (int i = 0; i < 5; ++i) lookup_wait(*backend, "user" + std::to_string(i));
  EXPECT_EQ(backend->cached_entries(), 3u);
  EXPECT_FALSE(answered_inline(*backend, "user0"));  // the oldest went first
  EXPECT_TRUE(answered_inline(*backend, "user4"));
}

TEST_F(HttpServices, DenialsAndErrorsAreNotCached) {
  HttpBackendOptions o = hostile_options();
  o.cache_ttl = 60s;
  auto backend = make(o);
  lookup_wait(*backend, "reason_blocked");
  lookup_wait(*backend, "status500");
  EXPECT_EQ(backend->cached_entries(), 0u);
}

TEST_F(HttpServices, EveryReasonFromTheServiceMapsAsDocumented) {
  auto backend = make(hostile_options());
  struct Case {
    const char* username;
    LookupOutcome outcome;
    int sip_code;
  };
  const Case cases[] = {
      {"reason_not_found", LookupOutcome::NotFound, 0},
      {"reason_not_user", LookupOutcome::NotFound, 0},
      {"reason_invalid_password", LookupOutcome::Denied, 403},
      {"reason_invalid_credentials", LookupOutcome::Denied, 403},
      {"reason_disabled", LookupOutcome::Denied, 403},
      {"reason_blocked", LookupOutcome::Denied, 403},
      {"reason_spam", LookupOutcome::Denied, 403},
      {"reason_spam_detected", LookupOutcome::Denied, 403},
      {"reason_payment_required", LookupOutcome::Denied, 402},
      {"reason_martian", LookupOutcome::Error, 0},
      {"detail404", LookupOutcome::NotFound, 0},
  };
  for (const Case& c : cases) {
    auto r = lookup_wait(*backend, c.username);
    EXPECT_EQ(r.outcome, c.outcome) << c.username << ": " << r.detail;
    EXPECT_EQ(r.sip_code, c.sip_code) << c.username;
  }
}

TEST_F(HttpServices, SpamIsLoggedAsAWarning) {
  LogCapture logs;
  auto backend = make(hostile_options());
  lookup_wait(*backend, "reason_spam_detected");
  std::string text = logs.text();
  EXPECT_TRUE(contains(text, "[warning]")) << text;
  EXPECT_TRUE(contains(text, "reason_spam_detected")) << text;
  EXPECT_TRUE(contains(text, "spam")) << text;
}

TEST_F(HttpServices, HostileAnswersAreErrorsEachLoggedWithItsCause) {
  LogCapture logs;
  auto backend = make(hostile_options());
  const std::pair<const char*, const char*> cases[] = {
      {"status500", "HTTP status 500 without an error reason"},
      {"empty500", "empty body"},
      {"notjson", "HTTP status 502 with a body that is not JSON"},
      {"badjson", "invalid JSON"},
      {"huge", "larger than 64 KiB"},
      {"nopassword", "without a password"},
      {"wrongtype", "'password' is not a string"},
      {"redirect", "HTTP status 302"},
      {"drop", "request failed"},
  };
  for (const auto& [username, fragment] : cases) {
    auto r = lookup_wait(*backend, username);
    EXPECT_EQ(r.outcome, LookupOutcome::Error) << username;
    EXPECT_TRUE(contains(r.detail, fragment)) << username << ": " << r.detail;
  }
  std::string text = logs.text();
  for (const auto& [username, fragment] : cases) {
    EXPECT_TRUE(contains(text, std::string("'") + username + "' failed: ")) << username;
    EXPECT_TRUE(contains(text, fragment)) << fragment;
  }
  EXPECT_FALSE(contains(text, "pw-")) << "a password reached the log";
  // The backend still works after all that.
  EXPECT_EQ(lookup_wait(*backend, "user1").outcome, LookupOutcome::Found);
}

TEST_F(HttpServices, TimeoutAnswersErrorWithoutWaitingForTheService) {
  HttpBackendOptions o = hostile_options();
  o.timeout = 300ms;
  auto backend = make(o);
  const auto start = Clock::now();
  auto r = lookup_wait(*backend, "slow-timeout");
  const auto waited = Clock::now() - start;
  EXPECT_EQ(r.outcome, LookupOutcome::Error);
  EXPECT_TRUE(contains(r.detail, "no answer within 300 ms")) << r.detail;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 1200ms);
}

TEST_F(HttpServices, ConnectionRefusedIsAnError) {
  HttpBackendOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(test::free_tcp_port()) + "/verify";
  auto backend = make(o);
  auto r = lookup_wait(*backend, "1001");
  EXPECT_EQ(r.outcome, LookupOutcome::Error);
  EXPECT_TRUE(contains(r.detail, "request failed")) << r.detail;
}

TEST_F(HttpServices, LookupNeverBlocksTheCallerAndSlowAnswersDoNotHoldUpFastOnes) {
  HttpBackendOptions o = hostile_options();
  o.timeout = 5000ms;
  auto backend = make(o);
  std::promise<LookupResult> slow;
  const auto start = Clock::now();
  backend->lookup({"slow1", "example.com"}, [&](LookupResult r) { slow.set_value(std::move(r)); });
  EXPECT_LT(Clock::now() - start, 100ms);
  auto fast = lookup_wait(*backend, "user-fast");
  EXPECT_EQ(fast.outcome, LookupOutcome::Found);
  EXPECT_LT(Clock::now() - start, 1000ms);  // the slow one takes 1.5 s
  EXPECT_EQ(backend->in_flight(), 1u);
  EXPECT_EQ(slow.get_future().get().outcome, LookupOutcome::Found);
  EXPECT_GE(Clock::now() - start, 1400ms);
}

TEST_F(HttpServices, InFlightBoundRefusesAtOnceAndRecovers) {
  HttpBackendOptions o = hostile_options();
  o.max_in_flight = 2;
  o.timeout = 5000ms;
  auto backend = make(o);
  std::atomic<int> found{0};
  std::promise<void> both;
  for (int i = 0; i < 2; ++i) {
    backend->lookup({"slow" + std::to_string(i), "example.com"}, [&](LookupResult r) {
      if (r.outcome == LookupOutcome::Found && ++found == 2) both.set_value();
    });
  }
  EXPECT_EQ(backend->in_flight(), 2u);
  auto refused = answered_inline(*backend, "user1");
  ASSERT_TRUE(refused) << "beyond the bound the answer must come at once";
  EXPECT_EQ(refused->outcome, LookupOutcome::Error);
  EXPECT_TRUE(contains(refused->detail, "too many lookups in flight")) << refused->detail;
  const auto start = Clock::now();
  ASSERT_EQ(both.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_LT(Clock::now() - start, 2500ms);  // the two ran side by side (1.5 s each)
  EXPECT_EQ(backend->in_flight(), 0u);
  EXPECT_EQ(lookup_wait(*backend, "user1").outcome, LookupOutcome::Found);
}

TEST_F(HttpServices, DestroyingTheBackendAnswersPendingLookupsOnce) {
  HttpBackendOptions o = hostile_options();
  o.timeout = 10000ms;
  auto backend = make(o);
  std::atomic<int> answers{0};
  std::promise<LookupResult> answered;
  backend->lookup({"slow-gone", "example.com"}, [&](LookupResult r) {
    if (++answers == 1) answered.set_value(std::move(r));
  });
  std::this_thread::sleep_for(100ms);
  const auto start = Clock::now();
  backend.reset();
  EXPECT_LT(Clock::now() - start, 1000ms);
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(future.get().outcome, LookupOutcome::Error);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(answers.load(), 1);
}

TEST_F(HttpServices, TheLastReferenceMayBeDroppedInsideACallback) {
  auto backend = make(hostile_options());
  std::promise<void> done;
  auto holder = std::make_shared<std::shared_ptr<HttpBackend>>(backend);
  backend->lookup({"user1", "example.com"}, [holder, &done](LookupResult) {
    holder->reset();
    done.set_value();
  });
  backend.reset();
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace cppbx::users
