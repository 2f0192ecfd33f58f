// The registration rules every locator keeps for the registrar, run on
// every store of LocatorTest (locator_conformance.hpp): memory, SQLite,
// PostgreSQL, MariaDB, Redis and HTTP (a registry service per test). Refresh
// by key (contact or instance id), removals, Call-ID/CSeq ordering, the
// per-AoR limit with the oldest replaced, expiry (lookups, updates, sweeps,
// the timer), closed connections and concurrent updates. A type's own file keeps only what is specific to it.
#include "locator_conformance.hpp"

#include <boost/asio/executor_work_guard.hpp>

namespace cppbx::location::conformance {
namespace {

INSTANTIATE_TEST_SUITE_P(Stores, LocatorTest,
                         ::testing::Values(Store::Memory, Store::Sqlite, Store::Postgres, Store::MariaDb,
                                           Store::Redis, Store::Http),
                         store_name);

TEST_P(LocatorTest, UpsertStoresAndLookupFindsIt) {
  UpdateResult result = update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(contacts_of(result.registered()), std::vector<std::string>{"sip:alice@192.0.2.1"});
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
    EXPECT_TRUE(result.registered().empty());
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
  EXPECT_EQ(contacts_of(result.registered()), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
}

TEST_P(LocatorTest, LookupNeverReturnsExpiredBindings) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 30ms), make_binding("sip:a@192.0.2.2")}));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
}

TEST_P(LocatorTest, UpdateDropsExpiredBindingsAndReportsThemOffline) {
  if (GetParam() == Store::Redis) {
    GTEST_SKIP() << "Redis expires bindings itself and its sweeper reports them "
                    "(RedisLocatorTest.SweepReportsOwnExpiredBindingsOnceButNotThoseTakenOver)";
  }
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
  if (GetParam() != Store::Redis) {  // Redis reports each AoR's bindings apart (one script per AoR)
    ASSERT_EQ(calls.size(), 1u);
  }
  EXPECT_EQ(observer_->total(), 2u);
  // The http locator tells its service with POSTs that may still be on the
  // way when the offline event is out: its lookups agree once they land.
  EXPECT_TRUE(eventually([&] { return contacts_of(lookup()) == std::vector<std::string>{"sip:a@192.0.2.2"}; }))
      << ::testing::PrintToString(contacts_of(lookup()));
  EXPECT_TRUE(eventually([&] { return lookup("sip:bob@example.com").empty(); }));
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

}  // namespace
}  // namespace cppbx::location::conformance
