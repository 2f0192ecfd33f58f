// DatabaseLocator on SQLite (a temporary file), PostgreSQL and MariaDB (real
// servers, tests/support/db_servers.hpp), beside MemoryLocator: the same
// registration cases run on every locator, so the database locator is held
// to the reference behaviour. Database-only cases follow: every Binding field
// round-trips, bindings persist across a new locator instance (UDP kept, this
// node's TCP flows from the earlier run dropped and reported), a shared table
// keeps nodes apart, and an unreachable or locked database answers errors
// within the timeout, loses nothing and recovers without a new instance.
#include "location/database_locator.hpp"
#include "location/memory_locator.hpp"
#include "storage/database.hpp"
#include "support/db_servers.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include <soci/sqlite3/soci-sqlite3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace cppbx::location {
namespace {

using namespace std::chrono_literals;
using cppbx::testing::DbServer;
using cppbx::testing::MariaDbServer;
using cppbx::testing::PostgresServer;

const std::string kAlice = "sip:alice@example.com";
const std::string kHome = "sip:192.0.2.100:5060";

enum class Store { Memory, Sqlite, Postgres, MariaDb };

std::string store_name(const ::testing::TestParamInfo<Store>& info) {
  switch (info.param) {
    case Store::Memory: return "Memory";
    case Store::Sqlite: return "Sqlite";
    case Store::Postgres: return "Postgres";
    case Store::MariaDb: return "MariaDb";
  }
  return "unknown";
}

Binding make_binding(std::string contact, std::chrono::milliseconds lifetime = 3600s,
                     transport::ConnectionId connection = 0, std::string instance = {}) {
  Binding binding;
  binding.contact = std::move(contact);
  binding.instance_id = std::move(instance);
  binding.expires_at = Clock::now() + lifetime;
  binding.connection = connection;
  binding.transport = connection != 0 ? transport::Protocol::Tcp : transport::Protocol::Udp;
  return binding;
}

UpdateRequest make_request(std::string call_id, uint32_t cseq, std::vector<Binding> upserts,
                           std::vector<std::string> removals = {}, std::string aor = kAlice) {
  UpdateRequest request;
  request.aor = std::move(aor);
  request.call_id = std::move(call_id);
  request.cseq = cseq;
  request.upserts = std::move(upserts);
  request.removals = std::move(removals);
  return request;
}

std::vector<std::string> contacts_of(const std::vector<Binding>& bindings) {
  std::vector<std::string> contacts;
  for (const Binding& b : bindings) contacts.push_back(b.contact);
  return contacts;
}

class RecordingObserver : public LocationObserver {
 public:
  void on_offline(const std::vector<Binding>& bindings) override {
    std::lock_guard lock(mutex_);
    calls_.push_back(bindings);
  }
  std::vector<std::vector<Binding>> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  size_t total() const {
    size_t n = 0;
    for (const auto& call : calls()) n += call.size();
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::vector<Binding>> calls_;
};

// Synchronous wrappers: the database locator answers on its own threads.
UpdateResult update_on(Locator& locator, UpdateRequest request) {
  std::promise<UpdateResult> answer;
  auto future = answer.get_future();
  std::atomic<int> calls{0};
  locator.update(std::move(request), [&](UpdateResult r) {
    if (calls++ == 0) answer.set_value(std::move(r));
  });
  UpdateResult result = future.get();
  EXPECT_EQ(calls.load(), 1);
  return result;
}

LookupResult lookup_on(Locator& locator, const std::string& aor) {
  std::promise<LookupResult> answer;
  auto future = answer.get_future();
  locator.lookup(aor, [&](LookupResult r) { answer.set_value(std::move(r)); });
  return future.get();
}

// Waits until `condition` holds (work handed to the pool happens later).
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 5s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

class LocatorTest : public ::testing::TestWithParam<Store> {
 protected:
  static std::unique_ptr<DbServer>& server(Store kind) {
    static std::unique_ptr<DbServer> postgres;
    static std::unique_ptr<DbServer> mariadb;
    return kind == Store::Postgres ? postgres : mariadb;
  }

  static void TearDownTestSuite() {
    server(Store::Postgres).reset();
    server(Store::MariaDb).reset();
  }

  void SetUp() override {
    switch (GetParam()) {
      case Store::Memory: return;
      case Store::Sqlite: {
        folder_ = std::filesystem::temp_directory_path() /
                  ("cppbx-dblocator-" + std::to_string(::getpid()) + "-" + std::to_string(next_folder_++));
        std::filesystem::remove_all(folder_);
        std::filesystem::create_directories(folder_);
        url_ = "sqlite://" + (folder_ / "locations.db").string();
        return;
      }
      case Store::Postgres:
        if (!PostgresServer::available()) GTEST_SKIP() << PostgresServer::missing_message();
        break;
      case Store::MariaDb:
        if (!MariaDbServer::available()) GTEST_SKIP() << MariaDbServer::missing_message();
        break;
    }
    auto& instance = server(GetParam());
    if (!instance) {
      if (GetParam() == Store::Postgres) instance = std::make_unique<PostgresServer>();
      else instance = std::make_unique<MariaDbServer>();
    }
    std::string error;
    ASSERT_TRUE(instance->start(error)) << error;
    url_ = instance->url();
    // Each test starts from an empty table.
    auto database = storage::Database::open(url_, error);
    ASSERT_NE(database, nullptr) << error;
    database->with_session([](soci::session& sql) {
      sql << "DELETE FROM locations";
      return 0;
    });
  }

  void TearDown() override {
    locators_.clear();
    if (!folder_.empty()) std::filesystem::remove_all(folder_);
  }

  bool is_database() const { return GetParam() != Store::Memory; }
  DbServer* db_server() { return is_database() && GetParam() != Store::Sqlite ? server(GetParam()).get() : nullptr; }

  DatabaseLocatorOptions database_options(uint32_t limit = 3, std::string home = kHome) {
    DatabaseLocatorOptions options;
    options.url = url_;
    options.home_proxy = std::move(home);
    options.max_bindings_per_aor = limit;
    options.sweep_interval = 50ms;
    options.timeout = 1000ms;
    return options;
  }

  // A started locator of the parameter's kind, observed by observer_.
  Locator& make_locator(uint32_t limit = 3) {
    std::shared_ptr<Locator> locator;
    if (is_database()) locator = std::make_shared<DatabaseLocator>(io_, database_options(limit));
    else locator = std::make_shared<MemoryLocator>(io_, MemoryLocatorOptions{limit, 50ms});
    locator->set_observer(observer_);
    locators_.push_back(locator);
    return *locator;
  }

  Locator& locator() {
    if (locators_.empty()) make_locator();
    return *locators_.front();
  }

  UpdateResult update(UpdateRequest request) { return update_on(locator(), std::move(request)); }

  std::vector<Binding> lookup(const std::string& aor = kAlice) {
    LookupResult result = lookup_on(locator(), aor);
    EXPECT_TRUE(result.ok) << result.detail;
    return result.bindings;
  }

  size_t sweep_now() {
    if (auto* database = dynamic_cast<DatabaseLocator*>(&locator())) return database->sweep_now();
    return dynamic_cast<MemoryLocator&>(locator()).sweep_now();
  }

  static inline int next_folder_ = 0;
  std::filesystem::path folder_;
  std::string url_;
  boost::asio::io_context io_;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
  std::vector<std::shared_ptr<Locator>> locators_;
};

INSTANTIATE_TEST_SUITE_P(Stores, LocatorTest,
                         ::testing::Values(Store::Memory, Store::Sqlite, Store::Postgres, Store::MariaDb),
                         store_name);

// --- The registration rules, on every store -------------------------------

TEST_P(LocatorTest, UpsertStoresAndLookupFindsIt) {
  UpdateResult result = update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(contacts_of(result.registered), std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_TRUE(result.removed.empty());

  std::vector<Binding> found = lookup();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].aor, kAlice);
  EXPECT_EQ(found[0].call_id, "c1");
  EXPECT_EQ(found[0].cseq, 1u);
  EXPECT_EQ(locator().binding_count(), 1u);
  EXPECT_TRUE(lookup("sip:bob@example.com").empty());
}

TEST_P(LocatorTest, RefreshReplacesTheBindingWithTheSameKey) {
  update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1", 60s)}));
  UpdateResult result = update(make_request("c1", 2, {make_binding("sip:alice@192.0.2.1", 600s)}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  ASSERT_EQ(result.current.size(), 1u);
  EXPECT_GT(result.current[0].remaining_seconds(Clock::now()), 500u);
  EXPECT_EQ(result.current[0].cseq, 2u);
  std::vector<Binding> found = lookup();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_GT(found[0].remaining_seconds(Clock::now()), 500u);
  EXPECT_EQ(locator().binding_count(), 1u);
}

TEST_P(LocatorTest, InstanceIdIsTheKeyWhenPresent) {
  update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1", 60s, 0, "<urn:uuid:1>")}));
  UpdateResult result =
      update(make_request("c1", 2, {make_binding("sip:alice@198.51.100.7", 60s, 0, "<urn:uuid:1>")}));
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:alice@198.51.100.7"});
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:alice@198.51.100.7"});
}

TEST_P(LocatorTest, RemovalDeletesOneBinding) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")}));
  UpdateResult result = update(make_request("c1", 2, {}, {"sip:a@192.0.2.1"}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(contacts_of(result.removed), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(locator().binding_count(), 1u);
}

TEST_P(LocatorTest, RemoveAllDeletesEveryBinding) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")}));
  UpdateRequest request = make_request("c1", 2, {});
  request.remove_all = true;
  UpdateResult result = update(std::move(request));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(result.removed.size(), 2u);
  EXPECT_TRUE(result.current.empty());
  EXPECT_TRUE(lookup().empty());
  EXPECT_EQ(locator().binding_count(), 0u);
}

TEST_P(LocatorTest, SameCallIdWithOlderOrEqualCSeqIsOutOfOrder) {
  update(make_request("c1", 5, {make_binding("sip:a@192.0.2.1", 60s)}));
  for (uint32_t cseq : {4u, 5u}) {
    UpdateResult result = update(make_request("c1", cseq, {make_binding("sip:a@192.0.2.1", 600s)}));
    EXPECT_EQ(result.status, UpdateStatus::OutOfOrder) << "cseq " << cseq;
    EXPECT_TRUE(result.registered.empty());
  }
  UpdateResult removal = update(make_request("c1", 3, {}, {"sip:a@192.0.2.1"}));
  EXPECT_EQ(removal.status, UpdateStatus::OutOfOrder);
  std::vector<Binding> found = lookup();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_LE(found[0].remaining_seconds(Clock::now()), 60u);  // untouched
}

TEST_P(LocatorTest, OtherCallIdMayUseAnyCSeq) {
  update(make_request("c1", 5, {make_binding("sip:a@192.0.2.1")}));
  UpdateResult result = update(make_request("c2", 1, {make_binding("sip:a@192.0.2.1")}));
  EXPECT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(lookup().at(0).call_id, "c2");
}

TEST_P(LocatorTest, OutOfOrderRemoveAllRemovesNothing) {
  update(make_request("c1", 5, {make_binding("sip:a@192.0.2.1")}));
  UpdateRequest request = make_request("c1", 5, {});
  request.remove_all = true;
  EXPECT_EQ(update(std::move(request)).status, UpdateStatus::OutOfOrder);
  EXPECT_EQ(lookup().size(), 1u);
}

TEST_P(LocatorTest, OldestBindingIsReplacedBeyondTheLimit) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1")}));
  update(make_request("c2", 1, {make_binding("sip:a@192.0.2.2")}));
  update(make_request("c3", 1, {make_binding("sip:a@192.0.2.3")}));
  update(make_request("c1", 2, {make_binding("sip:a@192.0.2.1")}));  // refresh: .2 is now the oldest
  UpdateResult result = update(make_request("c4", 1, {make_binding("sip:a@192.0.2.4")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(contacts_of(result.removed), std::vector<std::string>{"sip:a@192.0.2.2"});
  const std::vector<std::string> expected{"sip:a@192.0.2.3", "sip:a@192.0.2.1", "sip:a@192.0.2.4"};
  EXPECT_EQ(contacts_of(result.current), expected);
  EXPECT_EQ(contacts_of(lookup()), expected) << "the stored order is the modification order";
  EXPECT_EQ(locator().binding_count(), 3u);
}

TEST_P(LocatorTest, RequestLimitOverridesTheLocatorLimit) {
  UpdateRequest request =
      make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")});
  request.max_bindings = 1;
  UpdateResult result = update(std::move(request));
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(contacts_of(result.registered), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
}

TEST_P(LocatorTest, LookupNeverReturnsExpiredBindings) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 30ms), make_binding("sip:a@192.0.2.2")}));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
}

TEST_P(LocatorTest, UpdateDropsExpiredBindingsAndReportsThemOffline) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 30ms)}));
  std::this_thread::sleep_for(60ms);
  UpdateResult result = update(make_request("c2", 1, {make_binding("sip:a@192.0.2.2")}));
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:a@192.0.2.2"});
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(contacts_of(calls[0]), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_EQ(locator().binding_count(), 1u);
}

TEST_P(LocatorTest, SweepRemovesExpiredBindingsAndReportsThemOnce) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 30ms), make_binding("sip:a@192.0.2.2")}));
  update(make_request("c9", 1, {make_binding("sip:b@192.0.2.9", 30ms)}, {}, "sip:bob@example.com"));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(sweep_now(), 2u);
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].size(), 2u);
  EXPECT_EQ(locator().binding_count(), 1u);
  EXPECT_EQ(sweep_now(), 0u);
  EXPECT_EQ(observer_->calls().size(), 1u);  // nothing new: no empty call
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
}

TEST_P(LocatorTest, TimerSweepsPeriodically) {
  Locator& l = locator();
  l.start();
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 20ms)}));
  auto guard = boost::asio::make_work_guard(io_);
  std::thread io_thread([&] { io_.run(); });
  EXPECT_TRUE(eventually([&] { return observer_->total() >= 1; }));
  l.stop();
  guard.reset();
  io_thread.join();
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(contacts_of(calls[0]), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_EQ(l.binding_count(), 0u);
}

TEST_P(LocatorTest, ConnectionClosedRemovesItsBindings) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1:5070;transport=tcp", 3600s, 7),
                                make_binding("sip:a@192.0.2.2")}));
  update(make_request("c2", 1, {make_binding("sip:b@192.0.2.3;transport=tcp", 3600s, 7)}, {},
                      "sip:bob@example.com"));
  update(make_request("c3", 1, {make_binding("sip:c@192.0.2.4;transport=tcp", 3600s, 8)}, {},
                      "sip:carol@example.com"));
  locator().connection_closed(7);
  ASSERT_TRUE(eventually([&] { return observer_->total() >= 2; }));
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].size(), 2u);
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_TRUE(lookup("sip:bob@example.com").empty());
  EXPECT_EQ(lookup("sip:carol@example.com").size(), 1u);
  EXPECT_EQ(locator().binding_count(), 2u);
}

TEST_P(LocatorTest, ConnectionClosedAfterReRegistrationOnAnotherConnectionKeepsTheBinding) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, 7)}));
  update(make_request("c1", 2, {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, 9)}));
  locator().connection_closed(7);
  std::this_thread::sleep_for(100ms);  // give a (wrong) removal time to happen
  EXPECT_TRUE(observer_->calls().empty());
  EXPECT_EQ(lookup().size(), 1u);
  locator().connection_closed(9);
  EXPECT_TRUE(eventually([&] { return lookup().empty(); }));
  // Reported after the rows are gone, so possibly a moment after the lookup.
  EXPECT_TRUE(eventually([&] { return observer_->total() == 1; }));
}

// The flow closes while its REGISTER is still queued or being written: the
// binding must not outlive the flow, and goes offline exactly once.
TEST_P(LocatorTest, ConnectionClosedWhileItsRegisterIsWrittenLeavesNoBinding) {
  for (transport::ConnectionId flow : {11u, 12u, 13u}) {
    std::promise<UpdateResult> answer;
    locator().update(make_request("c" + std::to_string(flow), 1,
                                  {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, flow)}, {},
                                  "sip:user" + std::to_string(flow) + "@example.com"),
                     [&](UpdateResult r) { answer.set_value(std::move(r)); });
    locator().connection_closed(flow);
    EXPECT_EQ(answer.get_future().get().status, UpdateStatus::Ok);
  }
  for (int user : {11, 12, 13}) {
    const std::string aor = "sip:user" + std::to_string(user) + "@example.com";
    EXPECT_TRUE(eventually([&] { return lookup(aor).empty(); })) << aor;
  }
  EXPECT_TRUE(eventually([&] { return observer_->total() == 3; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(observer_->total(), 3u) << "each binding reported once";
  EXPECT_EQ(locator().binding_count(), 0u);
}

TEST_P(LocatorTest, ConcurrentUpdatesKeepTheLimitAndCounts) {
  constexpr int kThreads = 4;
  constexpr int kUsers = 25;
  Locator& l = locator();
  std::atomic<int> errors{0};
  std::mutex detail_mutex;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int u = 0; u < kUsers; ++u) {
        std::string aor = "sip:user" + std::to_string(u) + "@example.com";
        std::string contact = "sip:u@192.0.2." + std::to_string(t);
        UpdateResult r = update_on(l, make_request("c" + std::to_string(t), 1, {make_binding(contact)}, {}, aor));
        if (r.status != UpdateStatus::Ok && errors++ == 0) {
          std::lock_guard lock(detail_mutex);
          first_error = r.detail;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0) << first_error;
  EXPECT_EQ(l.binding_count(), static_cast<size_t>(kUsers * 3));  // limit 3 per AoR
  for (int u = 0; u < kUsers; ++u) {
    EXPECT_EQ(lookup("sip:user" + std::to_string(u) + "@example.com").size(), 3u) << "user " << u;
  }
}

// --- The database locator only ----------------------------------------------

class DatabaseLocatorTest : public LocatorTest {};
INSTANTIATE_TEST_SUITE_P(Databases, DatabaseLocatorTest,
                         ::testing::Values(Store::Sqlite, Store::Postgres, Store::MariaDb), store_name);

TEST_P(DatabaseLocatorTest, EveryFieldRoundTrips) {
  Binding b = make_binding("sip:alice@192.0.2.1:5070;transport=tcp;ob", 600s, 42, "<urn:uuid:00000000-1>");
  b.contact_params = "+sip.instance=\"<urn:uuid:00000000-1>\";reg-id=2;q=0.5";
  b.reg_id = 2;
  b.destination = "tcp:192.0.2.1:5070";
  b.transport = transport::Protocol::Wss;
  b.user_agent = "Ph'one \"1\"; DROP TABLE locations; --";
  b.path = {"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>"};
  b.supports_webrtc = true;
  b.q = 0.5f;
  b.home_proxy = "sip:elsewhere:5060";  // the locator stores its own
  ASSERT_EQ(update(make_request("call-x", 77, {b})).status, UpdateStatus::Ok);

  std::vector<Binding> found = lookup();
  ASSERT_EQ(found.size(), 1u);
  const Binding& got = found[0];
  EXPECT_EQ(got.aor, kAlice);
  EXPECT_EQ(got.contact, b.contact);
  EXPECT_EQ(got.contact_params, b.contact_params);
  EXPECT_EQ(got.instance_id, b.instance_id);
  EXPECT_EQ(got.reg_id, 2u);
  EXPECT_LE(std::chrono::abs(got.expires_at - b.expires_at), 1us);
  EXPECT_EQ(got.destination, b.destination);
  EXPECT_EQ(got.transport, transport::Protocol::Wss);
  EXPECT_EQ(got.connection, 42u);
  EXPECT_EQ(got.user_agent, b.user_agent);
  EXPECT_EQ(got.path, b.path);
  EXPECT_TRUE(got.supports_webrtc);
  EXPECT_EQ(got.call_id, "call-x");
  EXPECT_EQ(got.cseq, 77u);
  EXPECT_GT(got.last_modified.time_since_epoch().count(), 0);
  EXPECT_EQ(got.home_proxy, kHome);
  EXPECT_FLOAT_EQ(got.q, 0.5f);
}

TEST_P(DatabaseLocatorTest, BindingsPersistAcrossANewInstanceButThisNodesTcpFlowsDoNot) {
  {
    DatabaseLocator first(io_, database_options());
    first.start();
    update_on(first, make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 600s)}));
    update_on(first, make_request("c2", 1, {make_binding("sip:a@192.0.2.2;transport=tcp", 600s, 5)}));
    first.stop();
  }
  // Another node's TCP binding in the same table is not this node's to drop.
  {
    DatabaseLocator other(io_, database_options(3, "sip:192.0.2.200:5060"));
    update_on(other, make_request("c3", 1, {make_binding("sip:b@192.0.2.3;transport=tcp", 600s, 5)}, {},
                                  "sip:bob@example.com"));
  }
  const auto before_restart = Clock::now();
  DatabaseLocator second(io_, database_options());
  second.set_observer(observer_);
  second.start();
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(contacts_of(calls[0]), std::vector<std::string>{"sip:a@192.0.2.2;transport=tcp"});

  LookupResult alice = lookup_on(second, kAlice);
  ASSERT_TRUE(alice.ok) << alice.detail;
  ASSERT_EQ(contacts_of(alice.bindings), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_LE(alice.bindings[0].remaining_seconds(Clock::now()), 600u);
  EXPECT_LE(alice.bindings[0].last_modified, before_restart) << "not re-registered, only kept";
  EXPECT_EQ(lookup_on(second, "sip:bob@example.com").bindings.size(), 1u);
  EXPECT_EQ(second.binding_count(), 2u);
}

TEST_P(DatabaseLocatorTest, ClosingAConnectionLeavesOtherNodesFlowsWithTheSameId) {
  DatabaseLocator node_a(io_, database_options(3, "sip:192.0.2.101:5060"));
  DatabaseLocator node_b(io_, database_options(3, "sip:192.0.2.102:5060"));
  node_a.set_observer(observer_);
  update_on(node_a, make_request("c1", 1, {make_binding("sip:a@192.0.2.1;transport=tcp", 600s, 3)}));
  update_on(node_b, make_request("c2", 1, {make_binding("sip:a@192.0.2.2;transport=tcp", 600s, 3)}));
  node_a.connection_closed(3);
  ASSERT_TRUE(eventually([&] { return observer_->total() == 1; }));
  LookupResult left = lookup_on(node_b, kAlice);
  EXPECT_EQ(contacts_of(left.bindings), std::vector<std::string>{"sip:a@192.0.2.2;transport=tcp"});
}

TEST_P(DatabaseLocatorTest, TwoNodesSweepingReportEachExpiryOnce) {
  DatabaseLocator node_a(io_, database_options(10, "sip:192.0.2.101:5060"));
  DatabaseLocator node_b(io_, database_options(10, "sip:192.0.2.102:5060"));
  auto observer_b = std::make_shared<RecordingObserver>();
  node_a.set_observer(observer_);
  node_b.set_observer(observer_b);
  for (int i = 0; i < 20; ++i) {
    update_on(i % 2 ? node_a : node_b,
              make_request("c", static_cast<uint32_t>(i + 1),
                           {make_binding("sip:a@192.0.2." + std::to_string(i), 30ms)}, {},
                           "sip:user" + std::to_string(i) + "@example.com"));
  }
  std::this_thread::sleep_for(60ms);
  size_t swept = 0;
  std::thread other([&] { swept += node_b.sweep_now(); });
  size_t mine = node_a.sweep_now();
  other.join();
  EXPECT_EQ(mine + swept, 20u);
  EXPECT_EQ(observer_->total() + observer_b->total(), 20u);
}

TEST_P(DatabaseLocatorTest, ContactTooLongForTheTableIsAnErrorNotACrash) {
  UpdateResult result = update(make_request("c1", 1, {make_binding("sip:" + std::string(600, 'a') + "@x")}));
  EXPECT_EQ(result.status, UpdateStatus::Error);
  EXPECT_TRUE(lookup().empty());
}

// --- Server databases only: stopped and started again ------------------------

class ServerLocatorTest : public LocatorTest {};
INSTANTIATE_TEST_SUITE_P(Servers, ServerLocatorTest, ::testing::Values(Store::Postgres, Store::MariaDb),
                         store_name);

TEST_P(ServerLocatorTest, UnreachableDatabaseAnswersErrorsQuicklyAndRecovers) {
  DbServer* db = db_server();
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 600s)})).status, UpdateStatus::Ok);
  db->stop();

  auto started = std::chrono::steady_clock::now();
  UpdateResult failed = update(make_request("c1", 2, {make_binding("sip:a@192.0.2.2", 600s)}));
  EXPECT_EQ(failed.status, UpdateStatus::Error);
  LookupResult lookup_failed = lookup_on(locator(), kAlice);
  EXPECT_FALSE(lookup_failed.ok);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 2 * 1000ms + 500ms) << "each answer within the 1000 ms timeout";
  EXPECT_EQ(failed.detail.find(db->password()), std::string::npos) << "no password in details";

  std::string error;
  ASSERT_TRUE(db->start(error)) << error;
  // Recovers without a new locator: a session may fail once while reconnecting.
  UpdateResult recovered;
  ASSERT_TRUE(eventually(
      [&] {
        recovered = update(make_request("c1", 3, {make_binding("sip:a@192.0.2.3", 600s)}));
        return recovered.status == UpdateStatus::Ok;
      },
      10s))
      << recovered.detail;
  EXPECT_EQ(contacts_of(lookup()), (std::vector<std::string>{"sip:a@192.0.2.1", "sip:a@192.0.2.3"}))
      << "nothing stored before the outage is lost";
}

TEST_P(ServerLocatorTest, DatabaseDownAtStartIsRetriedByTheFirstCalls) {
  DbServer* db = db_server();
  ASSERT_NE(db, nullptr);
  db->stop();
  DatabaseLocator late(io_, database_options());
  late.start();  // logs and goes on
  EXPECT_EQ(update_on(late, make_request("c1", 1, {make_binding("sip:a@192.0.2.1")})).status,
            UpdateStatus::Error);
  std::string error;
  ASSERT_TRUE(db->start(error)) << error;
  EXPECT_TRUE(eventually(
      [&] { return update_on(late, make_request("c1", 2, {make_binding("sip:a@192.0.2.1")})).status == UpdateStatus::Ok; },
      10s));
  EXPECT_EQ(lookup_on(late, kAlice).bindings.size(), 1u);
}

// --- SQLite only: a database locked by another writer ------------------------

class SqliteLocatorTest : public LocatorTest {};
INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteLocatorTest, ::testing::Values(Store::Sqlite), store_name);

// A database that stays locked turns into Error answers within the timeout
// and a bound on the calls in flight; a change answered as failed is rolled
// back, not applied later.
TEST_P(SqliteLocatorTest, LockedDatabaseAnswersWithinTheTimeoutAndKeepsItsRows) {
  DatabaseLocatorOptions options = database_options();
  options.timeout = 300ms;
  options.max_in_flight = 2;
  options.pool_size = 1;
  DatabaseLocator l(io_, options);
  l.start();
  ASSERT_EQ(update_on(l, make_request("c1", 1, {make_binding("sip:a@192.0.2.1")})).status, UpdateStatus::Ok);

  soci::session holder(soci::sqlite3, "db=" + (folder_ / "locations.db").string());
  holder << "BEGIN EXCLUSIVE";
  auto started = std::chrono::steady_clock::now();
  std::vector<std::future<UpdateResult>> answers;
  for (int i = 0; i < 4; ++i) {
    auto answer = std::make_shared<std::promise<UpdateResult>>();
    answers.push_back(answer->get_future());
    l.update(make_request("c1", static_cast<uint32_t>(2 + i), {make_binding("sip:a@192.0.2.9")}),
             [answer](UpdateResult r) { answer->set_value(std::move(r)); });
  }
  int refused = 0;
  for (auto& answer : answers) {
    UpdateResult r = answer.get();
    EXPECT_EQ(r.status, UpdateStatus::Error);
    if (r.detail.find("in flight") != std::string::npos) ++refused;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 800ms);
  // At least the two beyond max_in_flight = 2 (a third when the first
  // update's worker has answered but not yet counted itself out).
  EXPECT_GE(refused, 2) << "calls beyond max_in_flight refused at once";
  EXPECT_LE(refused, 3) << "the calls within the bound waited for the lock";
  holder << "ROLLBACK";

  EXPECT_TRUE(eventually([&] { return lookup_on(l, kAlice).ok; }, 10s));
  EXPECT_EQ(contacts_of(lookup_on(l, kAlice).bindings), std::vector<std::string>{"sip:a@192.0.2.1"});
}

}  // namespace
}  // namespace cppbx::location
