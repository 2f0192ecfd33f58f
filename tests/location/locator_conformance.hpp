// What every locator test shares: bindings and requests built the same way,
// synchronous wrappers over the asynchronous Locator calls, an observer that
// records offline reports, and LocatorTest, a fixture parameterized by store
// (memory, SQLite, PostgreSQL, MariaDB, Redis, HTTP on the registry service) that builds a fresh, observed
// locator of that kind. locator_conformance_test.cpp holds the registration
// rules every locator must keep; a type's own file derives from LocatorTest
// (or uses the helpers) only for what is specific to it.
//
// Design: one fixture rather than one per type, so a rule added to the
// conformance suite runs on every store at once. Server stores (PostgreSQL,
// MariaDB, Redis) are started once per test suite and emptied (SQL) or given
// a fresh key prefix (Redis) per test; a missing server binary skips its
// store. Everything is inline: the header is included by several test files
// of one executable.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "location/database_locator.hpp"
#include "location/http_locator.hpp"
#include "location/memory_locator.hpp"
#include "location/redis_locator.hpp"
#include "storage/database.hpp"
#include "support/db_servers.hpp"
#include "support/python_service.hpp"
#include "support/redis_server.hpp"

namespace cppbx::location::conformance {

using namespace std::chrono_literals;

inline const std::string kAlice = "sip:alice@example.com";
inline const std::string kHome = "sip:192.0.2.100:5060";

inline Binding make_binding(std::string contact, std::chrono::milliseconds lifetime = 3600s,
                            transport::ConnectionId connection = 0, std::string instance = {}) {
  Binding binding;
  binding.contact = std::move(contact);
  binding.instance_id = std::move(instance);
  binding.expires_at = Clock::now() + lifetime;
  binding.connection = connection;
  binding.transport = connection != 0 ? transport::Protocol::Tcp : transport::Protocol::Udp;
  return binding;
}

inline UpdateRequest make_request(std::string call_id, uint32_t cseq, std::vector<Binding> upserts,
                                  std::vector<std::string> removals = {}, std::string aor = kAlice) {
  UpdateRequest request;
  request.aor = std::move(aor);
  request.call_id = std::move(call_id);
  request.cseq = cseq;
  request.upserts = std::move(upserts);
  request.removals = std::move(removals);
  return request;
}

inline std::vector<std::string> contacts_of(std::span<const Binding> bindings) {
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

// Synchronous wrappers: locators answer inline or on their own threads. A
// second answer to one call is a failure; a missing one fails after 10 s
// instead of hanging the suite.
inline UpdateResult update_on(Locator& locator, UpdateRequest request) {
  auto answer = std::make_shared<std::promise<UpdateResult>>();
  auto future = answer->get_future();
  auto calls = std::make_shared<std::atomic<int>>(0);
  locator.update(std::move(request), [answer, calls](UpdateResult r) {
    if ((*calls)++ == 0) answer->set_value(std::move(r));
  });
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "update() never answered";
    return {};
  }
  UpdateResult result = future.get();
  EXPECT_EQ(calls->load(), 1);
  return result;
}

inline LookupResult lookup_on(Locator& locator, const std::string& aor = kAlice) {
  auto answer = std::make_shared<std::promise<LookupResult>>();
  auto future = answer->get_future();
  locator.lookup(aor, [answer](LookupResult r) { answer->set_value(std::move(r)); });
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "lookup() never answered";
    return {};
  }
  return future.get();
}

inline ListResult list_on(Locator& locator, ListRequest request) {
  auto answer = std::make_shared<std::promise<ListResult>>();
  auto future = answer->get_future();
  locator.list(std::move(request), [answer](ListResult r) { answer->set_value(std::move(r)); });
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "list() never answered";
    return {};
  }
  return future.get();
}

inline UpdateResult remove_on(Locator& locator, std::string aor, std::string key) {
  auto answer = std::make_shared<std::promise<UpdateResult>>();
  auto future = answer->get_future();
  locator.remove(std::move(aor), std::move(key), [answer](UpdateResult r) { answer->set_value(std::move(r)); });
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "remove() never answered";
    return {};
  }
  return future.get();
}

inline long sweep_on(RedisLocator& locator) {
  std::promise<long> answer;
  auto future = answer.get_future();
  locator.sweep_now([&](long n) { answer.set_value(n); });
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
  return future.get();
}

inline std::optional<RedisEndpoint> endpoint_of(const std::string& url) {
  std::string error;
  return parse_redis_url(url, error);
}

// Waits until `condition` holds (work handed to another thread happens later).
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 5s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

enum class Store { Memory, Sqlite, Postgres, MariaDb, Redis, Http };

inline std::string store_name(const ::testing::TestParamInfo<Store>& info) {
  switch (info.param) {
    case Store::Memory: return "Memory";
    case Store::Sqlite: return "Sqlite";
    case Store::Postgres: return "Postgres";
    case Store::MariaDb: return "MariaDb";
    case Store::Redis: return "Redis";
    case Store::Http: return "Http";
  }
  return "unknown";
}

class LocatorTest : public ::testing::TestWithParam<Store> {
 protected:
  using DbServer = cppbx::testing::DbServer;

  static std::unique_ptr<DbServer>& server(Store kind) {
    static std::unique_ptr<DbServer> postgres;
    static std::unique_ptr<DbServer> mariadb;
    static std::unique_ptr<DbServer> redis;
    if (kind == Store::Redis) return redis;
    return kind == Store::Postgres ? postgres : mariadb;
  }

  static void TearDownTestSuite() {
    server(Store::Postgres).reset();
    server(Store::MariaDb).reset();
    server(Store::Redis).reset();
  }

  void SetUp() override {
    switch (GetParam()) {
      case Store::Memory: return;
      case Store::Sqlite: return use_sqlite_file();
      case Store::Http:  // a fresh registry service per test: an empty store
        registry_ = std::make_unique<cppbx::test::PythonService>("registry_service.py");
        ASSERT_TRUE(registry_->running()) << "registry_service.py did not start";
        return;
      case Store::Postgres:
        if (!cppbx::testing::PostgresServer::available())
          GTEST_SKIP() << cppbx::testing::PostgresServer::missing_message();
        break;
      case Store::MariaDb:
        if (!cppbx::testing::MariaDbServer::available())
          GTEST_SKIP() << cppbx::testing::MariaDbServer::missing_message();
        break;
      case Store::Redis:
        if (!cppbx::testing::RedisServer::available())
          GTEST_SKIP() << cppbx::testing::RedisServer::missing_message();
        break;
    }
    ASSERT_NO_FATAL_FAILURE(start_server());
    if (GetParam() == Store::Redis) {
      redis_prefix_ = "t" + std::to_string(next_folder_++) + ":";  // each test its own keys
      return;
    }
    // Each test starts from an empty table.
    std::string error;
    auto database = storage::Database::open(url_, error);
    ASSERT_NE(database, nullptr) << error;
    database->with_session([](soci::session& sql) {
      sql << "DELETE FROM locations";
      return 0;
    });
  }

  void TearDown() override {
    locators_.clear();
    registry_.reset();
    if (!folder_.empty()) std::filesystem::remove_all(folder_);
  }

  void use_sqlite_file() {
    folder_ = std::filesystem::temp_directory_path() /
              ("cppbx-locator-" + std::to_string(::getpid()) + "-" + std::to_string(next_folder_++));
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
    url_ = "sqlite://" + (folder_ / "locations.db").string();
  }

  void start_server() {
    auto& instance = server(GetParam());
    if (!instance) {
      switch (GetParam()) {
        case Store::Postgres: instance = std::make_unique<cppbx::testing::PostgresServer>(); break;
        case Store::MariaDb: instance = std::make_unique<cppbx::testing::MariaDbServer>(); break;
        default: instance = std::make_unique<cppbx::testing::RedisServer>(); break;
      }
    }
    std::string error;
    ASSERT_TRUE(instance->start(error)) << error;
    url_ = instance->url();
  }

  bool is_database() const {
    return GetParam() == Store::Sqlite || GetParam() == Store::Postgres || GetParam() == Store::MariaDb;
  }
  DbServer* db_server() {
    return GetParam() == Store::Postgres || GetParam() == Store::MariaDb ? server(GetParam()).get() : nullptr;
  }

  DatabaseLocatorOptions database_options(uint32_t limit = 3, std::string home = kHome) {
    DatabaseLocatorOptions options;
    options.url = url_;
    options.home_proxy = std::move(home);
    options.max_bindings_per_aor = limit;
    options.sweep_interval = 50ms;
    options.timeout = 1000ms;
    return options;
  }

  RedisLocatorOptions redis_options(uint32_t limit = 3, std::string home = kHome) {
    RedisLocatorOptions options;
    options.endpoint = *endpoint_of(url_);
    options.key_prefix = redis_prefix_;
    options.home_proxy = std::move(home);
    options.max_bindings_per_aor = limit;
    options.pool_size = 2;
    options.sweep_interval = 50ms;
    return options;
  }

  HttpLocatorOptions http_options(uint32_t limit = 3) {
    HttpLocatorOptions options;
    options.url = registry_->url("/registry");
    options.home_proxy = kHome;
    options.max_bindings_per_aor = limit;
    options.sweep_interval = 50ms;
    options.timeout = 2000ms;
    return options;
  }

  // A fresh locator of the parameter's kind, observed by observer_. The http
  // locator is started at once (its HTTP client lives from start() on).
  Locator& make_locator(uint32_t limit = 3) {
    std::shared_ptr<Locator> locator;
    if (is_database()) locator = std::make_shared<DatabaseLocator>(io_, database_options(limit));
    else if (GetParam() == Store::Redis) locator = std::make_shared<RedisLocator>(io_, redis_options(limit));
    else if (GetParam() == Store::Http) locator = std::make_shared<HttpLocator>(io_, http_options(limit));
    else locator = std::make_shared<MemoryLocator>(io_, MemoryLocatorOptions{limit, 50ms});
    locator->set_observer(observer_);
    if (GetParam() == Store::Http) locator->start();
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
    if (auto* redis = dynamic_cast<RedisLocator*>(&locator())) return static_cast<size_t>(sweep_on(*redis));
    if (auto* http = dynamic_cast<HttpLocator*>(&locator())) return http->sweep_now();
    return dynamic_cast<MemoryLocator&>(locator()).sweep_now();
  }

  static inline int next_folder_ = 0;
  std::filesystem::path folder_;
  std::string url_;
  std::string redis_prefix_;
  boost::asio::io_context io_;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
  std::vector<std::shared_ptr<Locator>> locators_;
  std::unique_ptr<cppbx::test::PythonService> registry_;
};

}  // namespace cppbx::location::conformance
