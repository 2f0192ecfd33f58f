#include "users/blocking_pool.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace cppbx::users {
namespace {

using namespace std::chrono_literals;

BlockingPool::Options options(size_t threads, size_t max_in_flight, std::chrono::milliseconds timeout) {
  BlockingPool::Options o;
  o.name = "test";
  o.threads = threads;
  o.max_in_flight = max_in_flight;
  o.timeout = timeout;
  return o;
}

TEST(BlockingPool, RunsWorkOffTheCallingThreadAndReturnsItsResult) {
  BlockingPool pool(options(2, 8, 2000ms));
  std::promise<std::pair<LookupResult, std::thread::id>> answered;
  const auto caller = std::this_thread::get_id();
  pool.submit([] { return LookupResult::found(SipUser{"alice", "pw"}); },
              [&](LookupResult r) { answered.set_value({std::move(r), std::this_thread::get_id()}); });
  auto [result, thread] = answered.get_future().get();
  EXPECT_EQ(result.outcome, LookupOutcome::Found);
  EXPECT_EQ(result.user.username, "alice");
  EXPECT_NE(thread, caller);
}

TEST(BlockingPool, AnswersErrorAtTheTimeoutWhileTheQueryIsStillStuck) {
  BlockingPool pool(options(1, 8, 100ms));
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<LookupResult> answered;
  const auto start = std::chrono::steady_clock::now();
  pool.submit([released] { released.wait(); return LookupResult::found({}); },
              [&](LookupResult r) { answered.set_value(std::move(r)); });
  LookupResult result = answered.get_future().get();
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.outcome, LookupOutcome::Error);
  EXPECT_NE(result.detail.find("timed out"), std::string::npos);
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 1500ms);
  EXPECT_EQ(pool.in_flight(), 1u);  // the stuck worker still counts
  release.set_value();
}

TEST(BlockingPool, RefusesAtOnceBeyondMaxInFlightAndRecoversAfterwards) {
  BlockingPool pool(options(1, 2, 5000ms));
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> found{0};
  for (int i = 0; i < 2; ++i) {
    pool.submit([released] { released.wait(); return LookupResult::found({}); },
                [&](LookupResult r) { if (r.outcome == LookupOutcome::Found) ++found; });
  }
  LookupResult refused;
  pool.submit([] { return LookupResult::found({}); }, [&](LookupResult r) { refused = std::move(r); });
  EXPECT_EQ(refused.outcome, LookupOutcome::Error);  // answered inline
  EXPECT_NE(refused.detail.find("too many"), std::string::npos);

  release.set_value();
  std::promise<LookupResult> later;
  for (int tries = 0; tries < 200 && pool.in_flight() != 0; ++tries) std::this_thread::sleep_for(5ms);
  pool.submit([] { return LookupResult::not_found(); }, [&](LookupResult r) { later.set_value(std::move(r)); });
  EXPECT_EQ(later.get_future().get().outcome, LookupOutcome::NotFound);
  EXPECT_EQ(found.load(), 2);
}

TEST(BlockingPool, AnExceptionInTheWorkBecomesAnError) {
  BlockingPool pool(options(1, 4, 2000ms));
  std::promise<LookupResult> answered;
  pool.submit([]() -> LookupResult { throw std::runtime_error("connection lost"); },
              [&](LookupResult r) { answered.set_value(std::move(r)); });
  LookupResult result = answered.get_future().get();
  EXPECT_EQ(result.outcome, LookupOutcome::Error);
  EXPECT_NE(result.detail.find("connection lost"), std::string::npos);
}

TEST(BlockingPool, EveryLookupIsAnsweredExactlyOnceUnderLoad) {
  std::atomic<int> answers{0};
  {
    BlockingPool pool(options(3, 10000, 2000ms));
    for (int i = 0; i < 2000; ++i) {
      pool.submit([] { return LookupResult::not_found(); }, [&](LookupResult) { ++answers; });
    }
  }  // the destructor answers whatever is still queued
  EXPECT_EQ(answers.load(), 2000);
}

}  // namespace
}  // namespace cppbx::users
