// MemoryLocator: the semantics the registrar relies on (refresh by key,
// removals, Call-ID/CSeq ordering, the per-AoR limit) and the background
// behaviour (sweeping expired bindings, closed connections) reported to the
// observer.
#include "location/memory_locator.hpp"

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace cppbx::location {
namespace {

using namespace std::chrono_literals;

const std::string kAlice = "sip:alice@example.com";

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

 private:
  mutable std::mutex mutex_;
  std::vector<std::vector<Binding>> calls_;
};

class MemoryLocatorTest : public ::testing::Test {
 protected:
  MemoryLocatorTest() : locator_(io_, MemoryLocatorOptions{3, 50ms}) {
    locator_.set_observer(observer_);
  }

  UpdateResult update(UpdateRequest request) {
    UpdateResult out;
    int calls = 0;
    locator_.update(std::move(request), [&](UpdateResult r) { out = std::move(r); ++calls; });
    EXPECT_EQ(calls, 1);
    return out;
  }

  std::vector<Binding> lookup(const std::string& aor = kAlice) {
    LookupResult out;
    int calls = 0;
    locator_.lookup(aor, [&](LookupResult r) { out = std::move(r); ++calls; });
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(out.ok);
    return out.bindings;
  }

  boost::asio::io_context io_;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
  MemoryLocator locator_;
};

TEST_F(MemoryLocatorTest, UpsertStoresAndLookupFindsIt) {
  UpdateResult result = update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok);
  EXPECT_EQ(contacts_of(result.registered), std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_TRUE(result.removed.empty());

  std::vector<Binding> found = lookup();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].aor, kAlice);
  EXPECT_EQ(found[0].call_id, "c1");
  EXPECT_EQ(found[0].cseq, 1u);
  EXPECT_EQ(locator_.binding_count(), 1u);
  EXPECT_TRUE(lookup("sip:bob@example.com").empty());
}

TEST_F(MemoryLocatorTest, RefreshReplacesTheBindingWithTheSameKey) {
  update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1", 60s)}));
  UpdateResult result = update(make_request("c1", 2, {make_binding("sip:alice@192.0.2.1", 600s)}));
  ASSERT_EQ(result.status, UpdateStatus::Ok);
  ASSERT_EQ(result.current.size(), 1u);
  EXPECT_GT(result.current[0].remaining_seconds(Clock::now()), 500u);
  EXPECT_EQ(result.current[0].cseq, 2u);
  EXPECT_EQ(locator_.binding_count(), 1u);
}

TEST_F(MemoryLocatorTest, InstanceIdIsTheKeyWhenPresent) {
  update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1", 60s, 0, "<urn:uuid:1>")}));
  UpdateResult result =
      update(make_request("c1", 2, {make_binding("sip:alice@198.51.100.7", 60s, 0, "<urn:uuid:1>")}));
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:alice@198.51.100.7"});
}

TEST_F(MemoryLocatorTest, RemovalDeletesOneBinding) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")}));
  UpdateResult result = update(make_request("c1", 2, {}, {"sip:a@192.0.2.1"}));
  ASSERT_EQ(result.status, UpdateStatus::Ok);
  EXPECT_EQ(contacts_of(result.removed), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(locator_.binding_count(), 1u);
}

TEST_F(MemoryLocatorTest, RemoveAllDeletesEveryBinding) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")}));
  UpdateRequest request = make_request("c1", 2, {});
  request.remove_all = true;
  UpdateResult result = update(std::move(request));
  ASSERT_EQ(result.status, UpdateStatus::Ok);
  EXPECT_EQ(result.removed.size(), 2u);
  EXPECT_TRUE(result.current.empty());
  EXPECT_TRUE(lookup().empty());
  EXPECT_EQ(locator_.binding_count(), 0u);
}

TEST_F(MemoryLocatorTest, SameCallIdWithOlderOrEqualCSeqIsOutOfOrder) {
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

TEST_F(MemoryLocatorTest, OtherCallIdMayUseAnyCSeq) {
  update(make_request("c1", 5, {make_binding("sip:a@192.0.2.1")}));
  UpdateResult result = update(make_request("c2", 1, {make_binding("sip:a@192.0.2.1")}));
  EXPECT_EQ(result.status, UpdateStatus::Ok);
  EXPECT_EQ(lookup().at(0).call_id, "c2");
}

TEST_F(MemoryLocatorTest, OutOfOrderRemoveAllRemovesNothing) {
  update(make_request("c1", 5, {make_binding("sip:a@192.0.2.1")}));
  UpdateRequest request = make_request("c1", 5, {});
  request.remove_all = true;
  EXPECT_EQ(update(std::move(request)).status, UpdateStatus::OutOfOrder);
  EXPECT_EQ(lookup().size(), 1u);
}

TEST_F(MemoryLocatorTest, OldestBindingIsReplacedBeyondTheLimit) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1")}));
  update(make_request("c2", 1, {make_binding("sip:a@192.0.2.2")}));
  update(make_request("c3", 1, {make_binding("sip:a@192.0.2.3")}));
  update(make_request("c1", 2, {make_binding("sip:a@192.0.2.1")}));  // refresh: .2 is now the oldest
  UpdateResult result = update(make_request("c4", 1, {make_binding("sip:a@192.0.2.4")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok);
  EXPECT_EQ(contacts_of(result.removed), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(contacts_of(result.current),
            (std::vector<std::string>{"sip:a@192.0.2.3", "sip:a@192.0.2.1", "sip:a@192.0.2.4"}));
  EXPECT_EQ(locator_.binding_count(), 3u);
}

TEST_F(MemoryLocatorTest, RequestLimitOverridesTheLocatorLimit) {
  UpdateRequest request =
      make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")});
  request.max_bindings = 1;
  UpdateResult result = update(std::move(request));
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_EQ(contacts_of(result.registered), std::vector<std::string>{"sip:a@192.0.2.2"});
}

TEST(MemoryLocatorTotal, NewBindingsBeyondTheTotalAreRefusedRefreshesAreNot) {
  boost::asio::io_context io;
  MemoryLocator locator(io, MemoryLocatorOptions{10, 5000ms, 2});
  auto apply = [&](UpdateRequest request) {
    UpdateResult out;
    locator.update(std::move(request), [&](UpdateResult r) { out = std::move(r); });
    return out;
  };
  auto request = [](std::string aor, std::string call_id, uint32_t cseq, std::string contact) {
    UpdateRequest r;
    r.aor = std::move(aor);
    r.call_id = std::move(call_id);
    r.cseq = cseq;
    Binding b;
    b.contact = std::move(contact);
    b.expires_at = Clock::now() + std::chrono::seconds(60);
    r.upserts.push_back(std::move(b));
    return r;
  };
  EXPECT_EQ(apply(request("sip:a@x", "c1", 1, "sip:a@192.0.2.1")).status, UpdateStatus::Ok);
  EXPECT_EQ(apply(request("sip:b@x", "c2", 1, "sip:b@192.0.2.1")).status, UpdateStatus::Ok);
  EXPECT_EQ(apply(request("sip:c@x", "c3", 1, "sip:c@192.0.2.1")).status, UpdateStatus::Error);
  EXPECT_EQ(locator.binding_count(), 2u);
  EXPECT_EQ(apply(request("sip:a@x", "c1", 2, "sip:a@192.0.2.1")).status, UpdateStatus::Ok)
      << "a refresh adds nothing and must still work when full";
}

TEST_F(MemoryLocatorTest, LookupNeverReturnsExpiredBindings) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 30ms), make_binding("sip:a@192.0.2.2")}));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
}

TEST_F(MemoryLocatorTest, SweepRemovesExpiredBindingsAndReportsThemOnce) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 30ms), make_binding("sip:a@192.0.2.2")}));
  update(make_request("c9", 1, {make_binding("sip:b@192.0.2.9", 30ms)}, {}, "sip:bob@example.com"));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(locator_.sweep_now(), 2u);
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].size(), 2u);
  EXPECT_EQ(locator_.binding_count(), 1u);
  EXPECT_EQ(locator_.sweep_now(), 0u);
  EXPECT_EQ(observer_->calls().size(), 1u);  // nothing new: no empty call
}

TEST_F(MemoryLocatorTest, TimerSweepsPeriodically) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 20ms)}));
  locator_.start();
  io_.run_for(300ms);
  locator_.stop();
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(contacts_of(calls[0]), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_EQ(locator_.binding_count(), 0u);
}

TEST_F(MemoryLocatorTest, StopEndsTheSweeper) {
  locator_.start();
  locator_.stop();
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 10ms)}));
  io_.run_for(200ms);
  EXPECT_TRUE(observer_->calls().empty());
  EXPECT_EQ(locator_.binding_count(), 1u);
}

TEST(MemoryLocatorLifetime, DestroyingTheLocatorWithAPendingTimerIsSafe) {
  boost::asio::io_context io;
  {
    MemoryLocator locator(io, MemoryLocatorOptions{10, 10ms});
    locator.start();
  }
  io.run_for(50ms);  // the cancelled handler runs after the locator is gone
  SUCCEED();
}

TEST_F(MemoryLocatorTest, ConnectionClosedRemovesItsBindings) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1:5070;transport=tcp", 3600s, 7),
                                make_binding("sip:a@192.0.2.2")}));
  update(make_request("c2", 1, {make_binding("sip:b@192.0.2.3;transport=tcp", 3600s, 7)}, {},
                      "sip:bob@example.com"));
  update(make_request("c3", 1, {make_binding("sip:c@192.0.2.4;transport=tcp", 3600s, 8)}, {},
                      "sip:carol@example.com"));
  locator_.connection_closed(7);
  auto calls = observer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].size(), 2u);
  EXPECT_EQ(contacts_of(lookup()), std::vector<std::string>{"sip:a@192.0.2.2"});
  EXPECT_TRUE(lookup("sip:bob@example.com").empty());
  EXPECT_EQ(lookup("sip:carol@example.com").size(), 1u);
  EXPECT_EQ(locator_.binding_count(), 2u);
}

TEST_F(MemoryLocatorTest, ConnectionClosedAfterReRegistrationOnAnotherConnectionKeepsTheBinding) {
  update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, 7)}));
  update(make_request("c1", 2, {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, 9)}));
  locator_.connection_closed(7);
  EXPECT_TRUE(observer_->calls().empty());
  EXPECT_EQ(lookup().size(), 1u);
  locator_.connection_closed(9);
  EXPECT_TRUE(lookup().empty());
}

TEST_F(MemoryLocatorTest, ConcurrentUpdatesKeepCountsConsistent) {
  constexpr int kThreads = 4;
  constexpr int kUsers = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int u = 0; u < kUsers; ++u) {
        std::string aor = "sip:user" + std::to_string(u) + "@example.com";
        std::string contact = "sip:u@192.0.2." + std::to_string(t);
        locator_.update(make_request("c" + std::to_string(t), 1, {make_binding(contact)}, {}, aor),
                        [](UpdateResult) {});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(locator_.binding_count(), static_cast<size_t>(kUsers * 3));  // limit 3 per AoR
  EXPECT_EQ(lookup("sip:user17@example.com").size(), 3u);
}

// Every binding that was registered leaves exactly once: replaced (removed in
// an UpdateResult) or reported offline by the sweeper running concurrently.
TEST(MemoryLocatorConcurrency, SweeperAndUpdatesAccountForEveryBinding) {
  boost::asio::io_context io;
  MemoryLocator locator(io, MemoryLocatorOptions{2, 1ms});
  auto observer = std::make_shared<RecordingObserver>();
  locator.set_observer(observer);
  locator.start();
  auto guard = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });

  std::atomic<size_t> registered{0};
  std::atomic<size_t> removed{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        std::string aor = "sip:user" + std::to_string(i % 20) + "@example.com";
        // Unique contacts: no refreshes, so every binding departs exactly once.
        std::string contact = "sip:u" + std::to_string(t) + "-" + std::to_string(i) + "@192.0.2.1";
        locator.update(make_request("c" + std::to_string(t), static_cast<uint32_t>(i + 1),
                                    {make_binding(contact, 2ms)}, {}, aor),
                       [&](UpdateResult result) {
                         registered += result.registered.size();
                         removed += result.removed.size();
                       });
        locator.lookup(aor, [](LookupResult) {});
      }
    });
  }
  for (auto& writer : writers) writer.join();
  std::this_thread::sleep_for(10ms);
  locator.stop();
  guard.reset();
  io_thread.join();
  locator.sweep_now();

  size_t offline = 0;
  for (const auto& call : observer->calls()) offline += call.size();
  EXPECT_EQ(locator.binding_count(), 0u);
  EXPECT_GT(registered.load(), 0u);
  EXPECT_EQ(registered.load(), 900u);
  EXPECT_EQ(removed.load() + offline, registered.load());
  EXPECT_GT(offline, 0u);
}

}  // namespace
}  // namespace cppbx::location
