// MemoryLocator: what only the memory locator does (the total bound on
// bindings, stopping and destroying its sweeper, the sweeper racing updates).
// The registration rules it shares with every locator, and which it is the
// reference for, run in locator_conformance_test.cpp.
#include "locator_conformance.hpp"

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace cppbx::location::conformance {
namespace {

using namespace std::chrono_literals;

TEST(MemoryLocatorSweeper, StopEndsTheSweeper) {
  boost::asio::io_context io;
  MemoryLocator locator(io, MemoryLocatorOptions{3, 50ms});
  auto observer = std::make_shared<RecordingObserver>();
  locator.set_observer(observer);
  locator.start();
  locator.stop();
  locator.update(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1", 10ms)}), [](UpdateResult) {});
  io.run_for(200ms);
  EXPECT_TRUE(observer->calls().empty());
  EXPECT_EQ(locator.binding_count(), 1u);
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

TEST(MemoryLocatorLifetime, DestroyingTheLocatorWithAPendingTimerIsSafe) {
  boost::asio::io_context io;
  {
    MemoryLocator locator(io, MemoryLocatorOptions{10, 10ms});
    locator.start();
  }
  io.run_for(50ms);  // the cancelled handler runs after the locator is gone
  SUCCEED();
}

// The locator answers with the list it stores (SharedBindings); a result kept
// after its callback must keep showing the AoR as it was then.
TEST(MemoryLocatorSharing, AResultKeptAfterItsCallbackDoesNotChangeWithTheAoR) {
  boost::asio::io_context io;
  MemoryLocator locator(io, MemoryLocatorOptions{10, 5000ms});
  auto apply = [&](UpdateRequest request) {
    UpdateResult out;
    locator.update(std::move(request), [&](UpdateResult r) { out = std::move(r); });
    return out;
  };
  UpdateResult first = apply(make_request("c1", 1, {make_binding("sip:alice@192.0.2.1")}));
  UpdateResult second = apply(make_request("c1", 2, {make_binding("sip:alice@192.0.2.2", 20ms)}));
  EXPECT_EQ(contacts_of(first.current), std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_EQ(contacts_of(second.current), (std::vector<std::string>{"sip:alice@192.0.2.1", "sip:alice@192.0.2.2"}));
  EXPECT_EQ(contacts_of(second.registered()), std::vector<std::string>{"sip:alice@192.0.2.2"});

  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(locator.sweep_now(), 1u);
  EXPECT_EQ(contacts_of(second.current), (std::vector<std::string>{"sip:alice@192.0.2.1", "sip:alice@192.0.2.2"}))
      << "the sweeper changed a list a result still reads";
  UpdateResult removal = apply(make_request("c1", 3, {}, {"sip:alice@192.0.2.1"}));
  EXPECT_TRUE(removal.current.empty());
  EXPECT_EQ(contacts_of(first.current), std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_EQ(locator.binding_count(), 0u);
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
                         registered += result.registered().size();
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
}  // namespace cppbx::location::conformance
