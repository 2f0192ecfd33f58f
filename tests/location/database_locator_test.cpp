// DatabaseLocator on SQLite (a temporary file), PostgreSQL and MariaDB (real
// servers, tests/support/db_servers.hpp): what only the database locator
// does. The registration rules it shares with every locator run in
// locator_conformance_test.cpp. Here: every Binding field round-trips,
// bindings persist across a new locator instance (UDP kept, this node's TCP
// flows from the earlier run dropped and reported), a shared table keeps
// nodes apart, and an unreachable or locked database answers errors within
// the timeout, loses nothing and recovers without a new instance.
#include "locator_conformance.hpp"

#include <soci/sqlite3/soci-sqlite3.h>

namespace cppbx::location::conformance {
namespace {

using cppbx::testing::DbServer;

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

TEST_P(DatabaseLocatorTest, AnotherNodesConnectionIdComesBackAsZero) {
  // A connection id names a flow on the node that holds it; to any other
  // node it is meaningless (and may collide with one of its own).
  DatabaseLocator node_a(io_, database_options(3, "sip:192.0.2.101:5060"));
  DatabaseLocator node_b(io_, database_options(3, "sip:192.0.2.102:5060"));
  update_on(node_b, make_request("c2", 1, {make_binding("sip:a@192.0.2.2;transport=tcp", 600s, 7)}));
  LookupResult seen_by_b = lookup_on(node_b, kAlice);
  ASSERT_EQ(seen_by_b.bindings.size(), 1u);
  EXPECT_EQ(seen_by_b.bindings[0].connection, 7u);
  LookupResult seen_by_a = lookup_on(node_a, kAlice);
  ASSERT_EQ(seen_by_a.bindings.size(), 1u);
  EXPECT_EQ(seen_by_a.bindings[0].connection, 0u);
  EXPECT_EQ(seen_by_a.bindings[0].home_proxy, "sip:192.0.2.102:5060");
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
}  // namespace cppbx::location::conformance
