// The http locator against a real registry service
// (tests/support/http_services/registry_service.py on a free loopback port):
// what the service stores after updates (read from its /_store and /_posts,
// not from the locator's word), lookups, the shared rules (Call-ID/CSeq
// order, per-AoR limit), concurrent REGISTERs of one AoR serialized, a
// refused POST or a dead service giving Error without losing what is stored,
// closed connections and expiry reported as offline.
#include "location/http_locator.hpp"

#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

#include "../support/python_service.hpp"
#include "location/location_payload.hpp"

namespace cppbx::location {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kAlice = "sip:alice@example.com";
const std::string kHome = "sip:192.0.2.1:5060";

Binding make_binding(std::string contact, std::chrono::milliseconds lifetime = 3600s,
                     transport::ConnectionId connection = 0) {
  Binding b;
  b.contact = std::move(contact);
  b.expires_at = Clock::now() + lifetime;
  b.connection = connection;
  b.transport = connection != 0 ? transport::Protocol::Tcp : transport::Protocol::Udp;
  b.destination = connection != 0 ? "tcp:192.0.2.9:40000" : "udp:192.0.2.9:5060";
  b.user_agent = "TestPhone";
  return b;
}

UpdateRequest make_request(std::string call_id, uint32_t cseq, std::vector<Binding> upserts,
                           std::vector<std::string> removals = {}, std::string aor = kAlice) {
  UpdateRequest r;
  r.aor = std::move(aor);
  r.call_id = std::move(call_id);
  r.cseq = cseq;
  r.upserts = std::move(upserts);
  r.removals = std::move(removals);
  return r;
}

class RecordingObserver : public LocationObserver {
 public:
  void on_offline(const std::vector<Binding>& bindings) override {
    std::lock_guard lock(mutex);
    for (const auto& b : bindings) offline.push_back(b);
  }
  std::vector<Binding> seen() {
    std::lock_guard lock(mutex);
    return offline;
  }
  std::mutex mutex;
  std::vector<Binding> offline;
};

class HttpLocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(service_.running());
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    locator_.reset();
    work_.reset();
    io_.stop();
    io_thread_.join();
  }

  HttpLocator& make(uint32_t max_per_aor = 10, std::chrono::milliseconds timeout = 2000ms) {
    HttpLocatorOptions o;
    o.url = service_.url("/registry");
    o.headers = {{"X-Registry-Key", "reg-key-77"}};
    o.timeout = timeout;
    o.max_bindings_per_aor = max_per_aor;
    o.home_proxy = kHome;
    o.sweep_interval = 3600s;
    locator_ = std::make_unique<HttpLocator>(io_, o);
    locator_->set_observer(observer_);
    locator_->start();
    return *locator_;
  }

  UpdateResult update(UpdateRequest request) {
    std::promise<UpdateResult> answer;
    locator_->update(std::move(request), [&](UpdateResult r) { answer.set_value(std::move(r)); });
    auto future = answer.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    return future.get();
  }

  LookupResult lookup(const std::string& aor) {
    std::promise<LookupResult> answer;
    locator_->lookup(aor, [&](LookupResult r) { answer.set_value(std::move(r)); });
    auto future = answer.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    return future.get();
  }

  json store() { return service_.get_json("/_store"); }
  json posts() { return service_.get_json("/_posts"); }

  test::PythonService service_{"registry_service.py"};
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::thread io_thread_;
  std::unique_ptr<HttpLocator> locator_;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
};

TEST_F(HttpLocatorTest, UpdatePostsTheBindingAndLookupReadsItBack) {
  make();
  auto result = update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.9:5060")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  ASSERT_EQ(result.registered().size(), 1u);
  ASSERT_EQ(result.current.size(), 1u);
  json stored = store();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["aor"], kAlice);
  EXPECT_EQ(stored[0]["contact"], "sip:alice@192.0.2.9:5060");
  EXPECT_EQ(stored[0]["home_proxy"], kHome);
  EXPECT_EQ(stored[0]["call_id"], "c1");
  json seen = posts();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["path"], "/registry");
  EXPECT_EQ(seen[0]["event"]["event"], "registered");
  EXPECT_EQ(seen[0]["headers"]["X-Registry-Key"], "reg-key-77");
  EXPECT_TRUE(seen[0]["event"].contains("timestamp"));

  auto found = lookup(kAlice);
  ASSERT_TRUE(found.ok) << found.detail;
  ASSERT_EQ(found.bindings.size(), 1u);
  EXPECT_EQ(found.bindings[0].contact, "sip:alice@192.0.2.9:5060");
  EXPECT_EQ(found.bindings[0].home_proxy, kHome);
  EXPECT_GT(found.bindings[0].remaining_seconds(Clock::now()), 3590u);
  auto nobody = lookup("sip:nobody@example.com");  // the service answers 404
  EXPECT_TRUE(nobody.ok) << nobody.detail;
  EXPECT_TRUE(nobody.bindings.empty());
}

TEST_F(HttpLocatorTest, BindingsStoredByAnotherNodeAreFound) {
  make();
  Binding other = make_binding("sip:alice@198.51.100.3:5060");
  other.aor = kAlice;
  other.home_proxy = "sip:198.51.100.1:5060";
  json location = json::parse(binding_event_payload(LocationEvent::Registered, other, Clock::now(), true))["location"];
  ASSERT_EQ(service_.post_json("/_put", location), 200);
  auto found = lookup(kAlice);
  ASSERT_TRUE(found.ok);
  ASSERT_EQ(found.bindings.size(), 1u);
  EXPECT_EQ(found.bindings[0].home_proxy, "sip:198.51.100.1:5060");
  // An update of this AoR keeps it (the rules see it as stored).
  auto result = update(make_request("c2", 1, {make_binding("sip:alice@192.0.2.9:5060")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(result.current.size(), 2u);
  EXPECT_EQ(store().size(), 2u);
}

TEST_F(HttpLocatorTest, OutOfOrderRemovalAndLimitFollowTheSharedRules) {
  make(2);
  ASSERT_EQ(update(make_request("c1", 5, {make_binding("sip:a@192.0.2.9")})).status, UpdateStatus::Ok);
  auto stale = update(make_request("c1", 4, {make_binding("sip:a@192.0.2.9")}));
  EXPECT_EQ(stale.status, UpdateStatus::OutOfOrder);
  EXPECT_EQ(posts().size(), 1u) << "an out-of-order request changes nothing at the service";

  ASSERT_EQ(update(make_request("c2", 1, {make_binding("sip:b@192.0.2.9")})).status, UpdateStatus::Ok);
  auto third = update(make_request("c3", 1, {make_binding("sip:c@192.0.2.9")}));
  ASSERT_EQ(third.status, UpdateStatus::Ok);
  ASSERT_EQ(third.removed.size(), 1u);
  EXPECT_EQ(third.removed[0].contact, "sip:a@192.0.2.9");  // the oldest goes beyond the limit
  json seen = posts();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[2]["event"]["event"], "unregistered");
  EXPECT_EQ(seen[2]["event"]["location"]["contact"], "sip:a@192.0.2.9");
  EXPECT_EQ(seen[3]["event"]["event"], "registered");
  EXPECT_EQ(store().size(), 2u);

  auto removal = update(make_request("c2", 2, {}, {"sip:b@192.0.2.9"}));
  ASSERT_EQ(removal.status, UpdateStatus::Ok);
  ASSERT_EQ(removal.removed.size(), 1u);
  auto left = lookup(kAlice);
  ASSERT_EQ(left.bindings.size(), 1u);
  EXPECT_EQ(left.bindings[0].contact, "sip:c@192.0.2.9");
}

TEST_F(HttpLocatorTest, ConcurrentUpdatesOfOneAorAreSerialized) {
  make(3);
  constexpr int kCount = 6;
  std::vector<std::promise<UpdateResult>> answers(kCount);
  for (int i = 0; i < kCount; ++i) {
    locator_->update(make_request("c" + std::to_string(i), 1, {make_binding("sip:p" + std::to_string(i) + "@h")}),
                     [&answers, i](UpdateResult r) { answers[i].set_value(std::move(r)); });
  }
  for (auto& answer : answers) {
    auto future = answer.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(future.get().status, UpdateStatus::Ok);
  }
  // One after the other, each update sees the one before and the limit
  // removes the oldest; interleaved GET/POST pairs would each have seen too
  // few bindings and left more than the limit at the service.
  auto found = lookup(kAlice);
  std::vector<std::string> contacts;
  for (const auto& b : found.bindings) contacts.push_back(b.contact);
  EXPECT_EQ(contacts, (std::vector<std::string>{"sip:p3@h", "sip:p4@h", "sip:p5@h"}));
  EXPECT_EQ(store().size(), 3u);
}

TEST_F(HttpLocatorTest, RefusedChangeIsAnErrorAndKeepsWhatIsStored) {
  make();
  ASSERT_EQ(update(make_request("c1", 1, {make_binding("sip:a@192.0.2.9")})).status, UpdateStatus::Ok);
  ASSERT_EQ(service_.post_json("/_plan", {{"post_status", 500}}), 200);
  auto refused = update(make_request("c1", 2, {}, {"sip:a@192.0.2.9"}));
  EXPECT_EQ(refused.status, UpdateStatus::Error);
  EXPECT_NE(refused.detail.find("500"), std::string::npos) << refused.detail;
  ASSERT_EQ(service_.post_json("/_plan", {{"post_status", 0}}), 200);
  EXPECT_EQ(lookup(kAlice).bindings.size(), 1u);
  // The phone's retry goes through once the service accepts again.
  EXPECT_EQ(update(make_request("c1", 3, {}, {"sip:a@192.0.2.9"})).status, UpdateStatus::Ok);
  EXPECT_TRUE(lookup(kAlice).bindings.empty());
}

TEST_F(HttpLocatorTest, DeadServiceGivesErrorsWithinTheTimeoutThenRecovers) {
  make(10, 500ms);
  service_.stop();
  const auto start = std::chrono::steady_clock::now();
  auto result = update(make_request("c1", 1, {make_binding("sip:a@192.0.2.9")}));
  EXPECT_EQ(result.status, UpdateStatus::Error);
  auto found = lookup(kAlice);
  EXPECT_FALSE(found.ok);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  ASSERT_TRUE(service_.start());
  EXPECT_EQ(update(make_request("c1", 2, {make_binding("sip:a@192.0.2.9")})).status, UpdateStatus::Ok);
  EXPECT_TRUE(lookup(kAlice).ok);
}

TEST_F(HttpLocatorTest, ClosedConnectionPostsOfflineAndTellsTheObserver) {
  make();
  ASSERT_EQ(update(make_request("c1", 1, {make_binding("sip:a@192.0.2.9;transport=tcp", 3600s, 77),
                                          make_binding("sip:b@192.0.2.9")}))
                .status,
            UpdateStatus::Ok);
  EXPECT_EQ(locator_->binding_count(), 2u);
  locator_->connection_closed(77);
  ASSERT_EQ(observer_->seen().size(), 1u);
  EXPECT_EQ(observer_->seen()[0].contact, "sip:a@192.0.2.9;transport=tcp");
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (store().size() != 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  json stored = store();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["contact"], "sip:b@192.0.2.9");
  json seen = posts();
  EXPECT_EQ(seen.back()["event"]["event"], "offline");
  EXPECT_EQ(seen.back()["event"]["locations"].size(), 1u);
  EXPECT_EQ(locator_->binding_count(), 1u);
}

TEST_F(HttpLocatorTest, ExpiredBindingsOfThisNodeAreSweptAsOffline) {
  make();
  ASSERT_EQ(update(make_request("c1", 1, {make_binding("sip:a@192.0.2.9", 1000ms)})).status, UpdateStatus::Ok);
  EXPECT_EQ(locator_->sweep_now(), 0u);
  std::this_thread::sleep_for(1100ms);
  EXPECT_TRUE(lookup(kAlice).bindings.empty()) << "expired bindings are never returned";
  EXPECT_EQ(locator_->sweep_now(), 1u);
  ASSERT_EQ(observer_->seen().size(), 1u);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!store().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(store().empty());
}

TEST_F(HttpLocatorTest, NotStartedOrStoppedAnswersErrorNeverHangs) {
  HttpLocatorOptions o;
  o.url = service_.url("/registry");
  HttpLocator idle(io_, o);
  std::promise<UpdateResult> answer;
  idle.update(make_request("c1", 1, {make_binding("sip:a@h")}), [&](UpdateResult r) { answer.set_value(r); });
  auto future = answer.get_future();
  ASSERT_EQ(future.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(future.get().status, UpdateStatus::Error);
}

}  // namespace
}  // namespace cppbx::location
