// PUT /api/settings/proxy through the real Router and Dispatcher, with the
// server's part (HttpApiEnvironment::apply_settings) replaced by a recorder:
// what reaches the server is the running configuration with the four
// settings replaced and masked secrets restored (user backends by position
// and type only); invalid bodies are refused with the JSON path of each
// field and never reach the server; the server's own answers (problems,
// file not saved) are passed on; what would need a restart is named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <optional>

#include "http_api/api_context.hpp"
#include "http_api/dispatcher.hpp"
#include "storage/database.hpp"

namespace cppbx::http_api {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kRunning = R"(
[proxy]
realms = ["pbx.example.com"]

[[proxy.user_backends]]
type = "memory"
users = [{ username = "1001", password = "pw-running-1001" }]

[[proxy.user_backends]]
type = "http"
url = "http://127.0.0.1:9/verify"
headers = { Authorization = "Bearer backend-s3cret" }

[proxy.locator_webhook]
url = "http://127.0.0.1:9/hook"
headers = { Authorization = "Bearer hook-s3cret" }
)";

class SettingsApplyRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() / ("cppbx-apply-route-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder_);
    std::string error;
    database_ = storage::Database::open("sqlite://" + (folder_ / "api.db").string(), error);
    ASSERT_NE(database_, nullptr) << error;
    admins_ = std::make_unique<storage::AdminStore>(*database_);
    config::Diagnostics diagnostics;
    running_ = config::load_string(kRunning, (folder_ / "cppbx.toml").string(), diagnostics);
    ASSERT_FALSE(diagnostics.has_errors());

    HttpApiEnvironment environment;
    environment.config = running_;
    environment.apply_settings = [this](config::Config proposed) {
      received_ = std::move(proposed);
      SettingsApplyResult result = answer_;
      if (result.outcome == SettingsApplyResult::Outcome::Applied) result.applied = *received_;
      return result;
    };
    context_.reset(new ApiContext{std::move(environment), io_, std::chrono::system_clock::now(), sessions_, throttle_,
                                  *admins_, extensions_, store_pool_, test_pool_, nullptr});
    context_->set_config(context_->environment.config);
    add_settings_routes(router_, *context_);
    dispatcher_ = std::make_unique<Dispatcher>(router_, sessions_);
    session_ = sessions_.create("root-admin");
    answer_.outcome = SettingsApplyResult::Outcome::Applied;
    answer_.file = "/tmp/generated/proxy_settings.toml";
    answer_.locator_bindings_carried = 4;
  }

  void TearDown() override {
    context_.reset();
    std::filesystem::remove_all(folder_);
  }

  Response call(std::string method, std::string body, bool csrf = true) {
    Request r;
    r.method = std::move(method);
    r.path = "/api/settings/proxy";
    r.headers["cookie"] = "cppbx_session=" + session_.id;
    if (csrf) r.headers["x-csrf-token"] = session_.csrf_token;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    r.body = std::move(body);
    auto answer = std::make_shared<std::promise<Response>>();
    auto future = answer->get_future();
    dispatcher_->dispatch(std::move(r), [answer](Response response) { answer->set_value(std::move(response)); });
    if (future.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer";
      return {};
    }
    return future.get();
  }

  json current() {
    Response response = call("GET", "");
    EXPECT_EQ(response.status, 200);
    return json::parse(response.body);
  }

  std::pair<int, json> put(const json& body, bool csrf = true) {
    Response response = call("PUT", body.dump(), csrf);
    return {response.status, json::parse(response.body, nullptr, false)};
  }

  static std::vector<std::string> paths(const json& answer) {
    std::vector<std::string> list;
    for (const auto& problem : answer["problems"]) list.push_back(problem["path"].get<std::string>());
    return list;
  }

  std::filesystem::path folder_;
  std::shared_ptr<storage::Database> database_;
  std::unique_ptr<storage::AdminStore> admins_;
  boost::asio::io_context io_;
  SessionStore sessions_;
  LoginThrottle throttle_;
  LazyExtensionStore extensions_{"", "", nullptr};
  ResponsePool store_pool_{BlockingPoolOptions{"store", 1, 8, 2000ms}, [](std::string why) {
                             return Response::error(503, why);
                           }};
  ResponsePool test_pool_{BlockingPoolOptions{"test", 1, 8, 5000ms}, [](std::string why) {
                            return Response::error(503, why);
                          }};
  config::Config running_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::unique_ptr<Dispatcher> dispatcher_;
  SessionView session_;
  SettingsApplyResult answer_;
  std::optional<config::Config> received_;
};

TEST_F(SettingsApplyRouteTest, TheGetShapeSentBackReachesTheServerWithItsSecrets) {
  json settings = current();
  ASSERT_EQ(settings["user_backends"][0]["users"][0]["password"], "********");
  settings["realms"] = json::array({"new.example.com"});
  auto [status, answer] = put(settings);
  ASSERT_EQ(status, 200) << answer.dump();
  ASSERT_TRUE(received_.has_value());
  const config::ProxyConfig& proxy = received_->proxy;
  EXPECT_EQ(proxy.realms, std::vector<std::string>{"new.example.com"});
  ASSERT_EQ(proxy.user_backends.size(), 2u);
  EXPECT_EQ(proxy.user_backends[0].table["users"][0]["password"].value_or(std::string()), "pw-running-1001");
  EXPECT_EQ(proxy.user_backends[1].table["headers"]["Authorization"].value_or(std::string()), "Bearer backend-s3cret");
  EXPECT_EQ(proxy.user_backends[0].key_path, "proxy.user_backends[0]");
  ASSERT_TRUE(proxy.locator_webhook.has_value());
  EXPECT_EQ(proxy.locator_webhook->headers,
            (std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer hook-s3cret"}}));
  EXPECT_EQ(received_->source_file, running_.source_file) << "the rest is the running configuration";

  EXPECT_EQ(answer["applied"], true);
  EXPECT_EQ(answer["file"], "/tmp/generated/proxy_settings.toml");
  EXPECT_EQ(answer["restart_required"], json::array());
  EXPECT_EQ(answer["locator_bindings_carried"], 4);
  EXPECT_EQ(answer["settings"]["realms"], json::array({"new.example.com"}));
  const std::string text = answer.dump();
  for (const char* secret : {"pw-running-1001", "backend-s3cret", "hook-s3cret"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
}

TEST_F(SettingsApplyRouteTest, AMaskMatchesOnlyTheBackendAtTheSamePositionWithTheSameType) {
  json settings = current();
  std::swap(settings["user_backends"][0], settings["user_backends"][1]);
  auto [status, answer] = put(settings);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(paths(answer), (std::vector<std::string>{"user_backends.0", "user_backends.1"})) << answer.dump();
  EXPECT_FALSE(received_.has_value());

  settings = current();
  settings["user_backends"][1]["url"] = "http://127.0.0.1:10/elsewhere";  // the secret must not follow
  std::tie(status, answer) = put(settings);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(paths(answer), std::vector<std::string>{"user_backends.1"});
  EXPECT_FALSE(received_.has_value());
}

TEST_F(SettingsApplyRouteTest, ConfigurationProblemsComeWithJsonPathsAndNeverReachTheServer) {
  json settings = current();
  settings["realms"] = json::array({"ok.example.com", ""});
  settings["user_backends"][0]["type"] = "ldap";
  settings["locator_webhook"]["timeout_ms"] = 0;
  settings["locator"]["max_bindings_per_aor"] = "ten";
  auto [status, answer] = put(settings);
  ASSERT_EQ(status, 400);
  EXPECT_EQ(answer["error"], "invalid settings");
  auto found = paths(answer);
  for (const char* path : {"realms.1", "user_backends.0.type", "locator_webhook.timeout_ms",
                           "locator.max_bindings_per_aor"}) {
    EXPECT_NE(std::find(found.begin(), found.end(), path), found.end()) << path << " in " << answer.dump();
  }
  for (const auto& problem : answer["problems"]) EXPECT_FALSE(problem["message"].get<std::string>().empty());
  EXPECT_FALSE(received_.has_value());
}

TEST_F(SettingsApplyRouteTest, TheShapeIsChecked) {
  json settings = current();
  settings.erase("locator");
  settings["colour"] = "blue";
  auto [status, answer] = put(settings);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(paths(answer), (std::vector<std::string>{"locator", "colour"}));
  std::tie(status, answer) = put(json::array());
  EXPECT_EQ(status, 400);
  settings = current();
  settings["realms"] = nullptr;
  std::tie(status, answer) = put(settings);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(paths(answer), std::vector<std::string>{"realms"});
  EXPECT_FALSE(received_.has_value());
}

TEST_F(SettingsApplyRouteTest, NullWebhookMeansNoWebhook) {
  json settings = current();
  settings["locator_webhook"] = nullptr;
  auto [status, answer] = put(settings);
  ASSERT_EQ(status, 200) << answer.dump();
  ASSERT_TRUE(received_.has_value());
  EXPECT_FALSE(received_->proxy.locator_webhook.has_value());
  EXPECT_TRUE(answer["settings"]["locator_webhook"].is_null());
}

TEST_F(SettingsApplyRouteTest, TheServersAnswersArePassedOn) {
  answer_.outcome = SettingsApplyResult::Outcome::Invalid;
  answer_.error = "the new locator cannot be used";
  config::Diagnostic url;
  url.key = "proxy.user_backends[1].url";
  url.message = "must start with http:// or https://";
  config::Diagnostic locator;
  locator.key = "proxy.locator";
  locator.message = "the new locator does not answer: connection refused";
  answer_.problems = {url, locator};
  auto [status, answer] = put(current());
  EXPECT_EQ(status, 400);
  EXPECT_EQ(answer["error"], "the new locator cannot be used");
  EXPECT_EQ(paths(answer), (std::vector<std::string>{"user_backends.1.url", "locator"}));

  answer_ = {};
  answer_.outcome = SettingsApplyResult::Outcome::NotSaved;
  answer_.error = "settings not saved, nothing applied: cannot create /x: Permission denied";
  std::tie(status, answer) = put(current());
  EXPECT_EQ(status, 500);
  EXPECT_EQ(answer["error"], answer_.error);
}

TEST_F(SettingsApplyRouteTest, AnotherExtensionDatabaseNeedsARestartForTheExtensionPages) {
  json settings = current();
  settings["user_backends"].push_back({{"type", "extension"}, {"database_url", "sqlite://other.sqlite3"}});
  auto [status, answer] = put(settings);
  ASSERT_EQ(status, 200) << answer.dump();
  EXPECT_EQ(answer["restart_required"], json::array({"user_backends.2.database_url"}));

  settings = current();
  settings["user_backends"].push_back({{"type", "extension"}});  // the main database, as at start
  std::tie(status, answer) = put(settings);
  ASSERT_EQ(status, 200) << answer.dump();
  EXPECT_EQ(answer["restart_required"], json::array());
}

TEST_F(SettingsApplyRouteTest, ItNeedsTheCsrfToken) {
  auto [status, answer] = put(current(), false);
  EXPECT_EQ(status, 403);
  EXPECT_FALSE(received_.has_value());
}

}  // namespace
}  // namespace cppbx::http_api
