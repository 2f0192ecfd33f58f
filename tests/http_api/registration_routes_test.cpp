// GET /api/registrations, POST /api/registrations/remove and the dashboard's
// registrations figures, driven through the real Router and Dispatcher (the
// session and CSRF rules every route passes) over a real memory locator, a
// locator whose store is down (503), and a locator webhook that POSTs to a
// recording service (the removal is reported as `unregistered`).
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

#include <unistd.h>

#include "http_api/api_context.hpp"
#include "http_api/dispatcher.hpp"
#include "location/memory_locator.hpp"
#include "storage/database.hpp"
#include "support/python_service.hpp"

namespace cppbx::http_api {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A locator whose store does not answer: every call fails like an outage.
class DownLocator final : public location::Locator {
 public:
  std::string_view type() const override { return "redis"; }
  void update(location::UpdateRequest, std::function<void(location::UpdateResult)> done) override {
    location::UpdateResult result;
    result.status = location::UpdateStatus::Error;
    result.detail = "redis locator: connection refused";
    std::thread([done = std::move(done), result] { done(result); }).detach();  // like a pool worker
  }
  void lookup(const std::string&, std::function<void(location::LookupResult)> done) override {
    done(location::LookupResult{false, {}, "down"});
  }
  void list(location::ListRequest, std::function<void(location::ListResult)> done) override {
    location::ListResult result;
    result.ok = false;
    result.detail = "redis locator: connection refused";
    std::thread([done = std::move(done), result] { done(result); }).detach();
  }
  void remove(std::string aor, std::string key, std::function<void(location::UpdateResult)> done) override {
    location::UpdateRequest request;
    request.aor = std::move(aor);
    request.removals = {std::move(key)};
    update(std::move(request), std::move(done));
  }
  void connection_closed(transport::ConnectionId) override {}
  void set_observer(std::shared_ptr<location::LocationObserver>) override {}
  size_t binding_count() const override { return 0; }
};

location::Binding binding(std::string contact, std::string destination, transport::Protocol protocol) {
  location::Binding b;
  b.contact = std::move(contact);
  b.destination = std::move(destination);
  b.transport = protocol;
  b.user_agent = "Phone/2.0";
  b.home_proxy = "sip:192.0.2.100:5060";
  b.expires_at = location::Clock::now() + 600s;
  return b;
}

class RegistrationRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() / ("cppbx-regs-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder_);
    std::string error;
    database_ = storage::Database::open("sqlite://" + (folder_ / "api.db").string(), error);
    ASSERT_NE(database_, nullptr) << error;
    admins_ = std::make_unique<storage::AdminStore>(*database_);
    seed();
  }

  void TearDown() override {
    context_.reset();
    std::filesystem::remove_all(folder_);
  }

  // alice: two bindings (udp, wss), bob: one (tcp).
  void seed() {
    put("sip:alice@example.com", binding("sip:alice@192.0.2.1:5060", "udp:192.0.2.1:5060", transport::Protocol::Udp));
    location::Binding webrtc = binding("sip:x7@df7jal23ls0d.invalid;transport=ws", "wss:198.51.100.4:50000",
                                       transport::Protocol::Wss);
    webrtc.supports_webrtc = true;
    put("sip:alice@example.com", webrtc);
    put("sip:bob@example.com", binding("sip:bob@192.0.2.2:5070;transport=tcp", "tcp:192.0.2.2:5070",
                                       transport::Protocol::Tcp));
  }

  void put(const std::string& aor, location::Binding b) {
    location::UpdateRequest request;
    request.aor = aor;
    request.call_id = "seed-" + b.contact;
    request.cseq = 1;
    request.upserts.push_back(std::move(b));
    memory_->update(std::move(request), [](location::UpdateResult r) { ASSERT_EQ(r.status, location::UpdateStatus::Ok); });
  }

  // Routes over `locator` (and `webhook`); built on first use.
  Dispatcher& dispatcher() {
    if (!dispatcher_) {
      HttpApiEnvironment environment;
      environment.locator = locator_;
      environment.webhook = [webhook = webhook_] { return webhook; };
      context_.reset(new ApiContext{std::move(environment), io_, std::chrono::system_clock::now(), sessions_,
                                    throttle_, *admins_, extensions_, store_pool_, test_pool_, nullptr});
      context_->set_config(context_->environment.config);
      add_registration_routes(router_, *context_);
      add_dashboard_routes(router_, *context_);
      dispatcher_ = std::make_unique<Dispatcher>(router_, sessions_);
      session_ = sessions_.create("root-admin");
    }
    return *dispatcher_;
  }

  Request request(std::string method, std::string path, std::string body = {}, bool csrf = true,
                  bool cookie = true) {
    dispatcher();
    Request r;
    r.method = std::move(method);
    const size_t question = path.find('?');
    r.path = path.substr(0, question);
    if (question != std::string::npos) r.query = parse_query(path.substr(question + 1));
    if (cookie) r.headers["cookie"] = "cppbx_session=" + session_.id;
    if (csrf) r.headers["x-csrf-token"] = session_.csrf_token;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    r.body = std::move(body);
    return r;
  }

  // Answers may come from another thread: waits for exactly one.
  Response call(Request r) {
    auto answer = std::make_shared<std::promise<Response>>();
    auto future = answer->get_future();
    auto answers = std::make_shared<std::atomic<int>>(0);
    dispatcher().dispatch(std::move(r), [answer, answers](Response response) {
      if ((*answers)++ == 0) answer->set_value(std::move(response));
    });
    if (future.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer";
      return {};
    }
    Response response = future.get();
    EXPECT_EQ(answers->load(), 1);
    return response;
  }

  json get_json(const std::string& path) {
    Response response = call(request("GET", path));
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body, nullptr, false);
  }

  Response remove(const json& body, bool csrf = true, bool cookie = true) {
    return call(request("POST", "/api/registrations/remove", body.dump(), csrf, cookie));
  }

  static std::vector<std::string> contacts(const json& page) {
    std::vector<std::string> out;
    for (const auto& item : page["items"]) out.push_back(item["contact"].get<std::string>());
    return out;
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
  ResponsePool test_pool_{BlockingPoolOptions{"test", 1, 8, 2000ms}, [](std::string why) {
                            return Response::error(503, why);
                          }};
  std::shared_ptr<location::MemoryLocator> memory_ =
      std::make_shared<location::MemoryLocator>(io_, location::MemoryLocatorOptions{});
  std::shared_ptr<location::Locator> locator_ = memory_;
  std::shared_ptr<location::LocatorWebhook> webhook_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::unique_ptr<Dispatcher> dispatcher_;
  SessionView session_;
};

TEST_F(RegistrationRoutesTest, ListsEveryBindingWithWhatThePageShows) {
  json page = get_json("/api/registrations");
  EXPECT_EQ(page["total"], 3);
  EXPECT_EQ(page["page"], 1);
  EXPECT_EQ(page["per_page"], 50);
  EXPECT_EQ(page["locator"], "memory");
  EXPECT_EQ(contacts(page), (std::vector<std::string>{"sip:alice@192.0.2.1:5060",
                                                      "sip:x7@df7jal23ls0d.invalid;transport=ws",
                                                      "sip:bob@192.0.2.2:5070;transport=tcp"}));
  const json& webrtc = page["items"][1];
  EXPECT_EQ(webrtc["aor"], "sip:alice@example.com");
  EXPECT_EQ(webrtc["key"], "sip:x7@df7jal23ls0d.invalid;transport=ws");
  EXPECT_EQ(webrtc["transport"], "wss");
  EXPECT_EQ(webrtc["destination"], "wss:198.51.100.4:50000");
  EXPECT_EQ(webrtc["user_agent"], "Phone/2.0");
  EXPECT_EQ(webrtc["node"], "sip:192.0.2.100:5060");
  EXPECT_EQ(webrtc["supports_webrtc"], true);
  EXPECT_GE(webrtc["expires_in"].get<int>(), 590);
  EXPECT_LE(webrtc["expires_in"].get<int>(), 600);
  EXPECT_EQ(page["items"][0]["transport"], "udp");
  EXPECT_EQ(page["items"][2]["transport"], "tcp");
  EXPECT_EQ(page["items"][2]["supports_webrtc"], false);
}

TEST_F(RegistrationRoutesTest, FiltersByUserAndPages) {
  json alice = get_json("/api/registrations?user=ALICE");
  EXPECT_EQ(alice["total"], 2);
  EXPECT_EQ(alice["items"].size(), 2u);
  json second = get_json("/api/registrations?per_page=2&page=2");
  EXPECT_EQ(second["total"], 3);
  EXPECT_EQ(contacts(second), std::vector<std::string>{"sip:bob@192.0.2.2:5070;transport=tcp"});
  json nobody = get_json("/api/registrations?user=carol");
  EXPECT_EQ(nobody["total"], 0);
  EXPECT_TRUE(nobody["items"].empty());
}

TEST_F(RegistrationRoutesTest, BadPagingIsRefused) {
  for (const char* query : {"per_page=0", "per_page=501", "page=abc", "page=-1"}) {
    EXPECT_EQ(call(request("GET", std::string("/api/registrations?") + query)).status, 400) << query;
  }
}

TEST_F(RegistrationRoutesTest, RemoveTakesOneBindingAndThenIsNotFound) {
  Response removed = remove({{"aor", "sip:bob@example.com"}, {"key", "sip:bob@192.0.2.2:5070;transport=tcp"}});
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(json::parse(removed.body),
            (json{{"removed", true}, {"aor", "sip:bob@example.com"}, {"key", "sip:bob@192.0.2.2:5070;transport=tcp"}}));
  EXPECT_EQ(get_json("/api/registrations")["total"], 2);
  EXPECT_EQ(get_json("/api/registrations?user=bob")["total"], 0);

  Response again = remove({{"aor", "sip:bob@example.com"}, {"key", "sip:bob@192.0.2.2:5070;transport=tcp"}});
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(remove({{"aor", "sip:alice@example.com"}, {"key", "sip:nowhere@192.0.2.9"}}).status, 404);
  EXPECT_EQ(get_json("/api/registrations")["total"], 2);
}

TEST_F(RegistrationRoutesTest, RemoveNeedsAorAndKeyStrings) {
  for (const json& body : {json{{"aor", "sip:bob@example.com"}}, json{{"key", "x"}, {"aor", 5}},
                           json{{"aor", ""}, {"key", "x"}}, json::array(),
                           json{{"aor", std::string(2000, 'a')}, {"key", "x"}}}) {
    EXPECT_EQ(remove(body).status, 400) << body.dump().substr(0, 80);
  }
  EXPECT_EQ(get_json("/api/registrations")["total"], 3);
}

TEST_F(RegistrationRoutesTest, SessionAndCsrfRulesApply) {
  const json bob{{"aor", "sip:bob@example.com"}, {"key", "sip:bob@192.0.2.2:5070;transport=tcp"}};
  EXPECT_EQ(call(request("GET", "/api/registrations", {}, true, false)).status, 401);
  EXPECT_EQ(remove(bob, true, false).status, 401);
  EXPECT_EQ(remove(bob, false, true).status, 403);
  EXPECT_EQ(get_json("/api/registrations")["total"], 3) << "nothing removed without the token";
}

TEST_F(RegistrationRoutesTest, StoreFailuresAnswer503WithoutTheDetail) {
  locator_ = std::make_shared<DownLocator>();
  Response listed = call(request("GET", "/api/registrations"));
  EXPECT_EQ(listed.status, 503);
  EXPECT_EQ(listed.body.find("connection refused"), std::string::npos) << listed.body;
  Response removed = remove({{"aor", "sip:bob@example.com"}, {"key", "sip:bob@192.0.2.2"}});
  EXPECT_EQ(removed.status, 503);
  json board = get_json("/api/dashboard");
  EXPECT_TRUE(board["registrations"]["bindings"].is_null()) << board.dump();
  EXPECT_TRUE(board["registrations"].contains("error"));
}

TEST_F(RegistrationRoutesTest, RemovalIsReportedToTheWebhookAsUnregistered) {
  cppbx::test::PythonService receiver("recorder_service.py");
  ASSERT_TRUE(receiver.running());
  location::LocatorWebhookOptions options;
  options.url = receiver.url("/events");
  std::string error;
  webhook_ = location::LocatorWebhook::create(options, &error);
  ASSERT_NE(webhook_, nullptr) << error;
  ASSERT_EQ(remove({{"aor", "sip:bob@example.com"}, {"key", "sip:bob@192.0.2.2:5070;transport=tcp"}}).status, 200);
  json events = json::array();
  for (int i = 0; i < 200 && events.empty(); ++i) {
    for (const auto& record : receiver.requests()) events.push_back(json::parse(record["body"].get<std::string>()));
    if (events.empty()) std::this_thread::sleep_for(25ms);
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "unregistered");
  EXPECT_EQ(events[0]["location"]["aor"], "sip:bob@example.com");
  EXPECT_EQ(events[0]["location"]["expires"], 0);
  EXPECT_EQ(webhook_->stats().sent, 1u);
}

TEST_F(RegistrationRoutesTest, DashboardCountsBindingsAndDistinctUsers) {
  json board = get_json("/api/dashboard");
  EXPECT_EQ(board["registrations"]["bindings"], 3);
  EXPECT_EQ(board["registrations"]["users"], 2);
  EXPECT_EQ(board["registrations"]["locator"], context_->config()->proxy.locator.type);
  ASSERT_EQ(remove({{"aor", "sip:bob@example.com"}, {"key", "sip:bob@192.0.2.2:5070;transport=tcp"}}).status, 200);
  board = get_json("/api/dashboard");
  EXPECT_EQ(board["registrations"]["bindings"], 2);
  EXPECT_EQ(board["registrations"]["users"], 1);
}

}  // namespace
}  // namespace cppbx::http_api
