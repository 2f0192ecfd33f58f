// BackendChain: order, NotFound moves on, Error is remembered, Denied stops,
// and answers arriving later from another thread.
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "users/backend_chain.hpp"

namespace cppbx::users {
namespace {

using testing::lookup_now;

// Answers every lookup with a fixed result and counts the calls.
class ScriptedBackend final : public UserBackend {
 public:
  explicit ScriptedBackend(LookupResult answer, bool from_thread = false)
      : answer_(std::move(answer)), from_thread_(from_thread) {}
  std::string_view type() const override { return "scripted"; }
  void lookup(const LookupRequest& request, LookupCallback done) override {
    ++calls;
    last_request = request;
    if (!from_thread_) {
      done(answer_);
      return;
    }
    std::thread([answer = answer_, done = std::move(done)] { done(answer); }).detach();
  }
  void reload() override { ++reloads; }
  int calls = 0;
  int reloads = 0;
  LookupRequest last_request;

 private:
  LookupResult answer_;
  bool from_thread_;
};

SipUser user_named(std::string name, std::string password) {
  SipUser user;
  user.username = std::move(name);
  user.password = std::move(password);
  return user;
}

TEST(BackendChain, FirstFoundWinsInOrder) {
  auto first = std::make_shared<ScriptedBackend>(LookupResult::found(user_named("alice", "one")));
  auto second = std::make_shared<ScriptedBackend>(LookupResult::found(user_named("alice", "two")));
  BackendChain chain({first, second});
  auto result = lookup_now(chain, "alice", "example.com");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, LookupOutcome::Found);
  EXPECT_EQ(result->user.password, "one");
  EXPECT_EQ(first->last_request.realm, "example.com");
  EXPECT_EQ(second->calls, 0);
}

TEST(BackendChain, NotFoundMovesOn) {
  auto missing = std::make_shared<ScriptedBackend>(LookupResult::not_found());
  auto found = std::make_shared<ScriptedBackend>(LookupResult::found(user_named("bob", "pw")));
  BackendChain chain({missing, found});
  auto result = lookup_now(chain, "bob");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, LookupOutcome::Found);
  EXPECT_EQ(result->user.username, "bob");
  EXPECT_EQ(missing->calls, 1);
}

TEST(BackendChain, NobodyKnowsTheUser) {
  BackendChain chain({std::make_shared<ScriptedBackend>(LookupResult::not_found()),
                      std::make_shared<ScriptedBackend>(LookupResult::not_found())});
  auto result = lookup_now(chain, "carol");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, LookupOutcome::NotFound);
  BackendChain empty({});
  EXPECT_EQ(lookup_now(empty, "carol")->outcome, LookupOutcome::NotFound);
}

TEST(BackendChain, ErrorIsRememberedWhenNobodyFindsTheUser) {
  auto broken = std::make_shared<ScriptedBackend>(LookupResult::error("db down"));
  auto missing = std::make_shared<ScriptedBackend>(LookupResult::not_found());
  BackendChain chain({broken, missing});
  auto result = lookup_now(chain, "dave");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, LookupOutcome::Error);
  EXPECT_NE(result->detail.find("db down"), std::string::npos);
  EXPECT_EQ(missing->calls, 1);
}

TEST(BackendChain, FoundAfterErrorIsFound) {
  auto broken = std::make_shared<ScriptedBackend>(LookupResult::error("timeout"));
  auto found = std::make_shared<ScriptedBackend>(LookupResult::found(user_named("erin", "pw")));
  BackendChain chain({broken, found});
  auto result = lookup_now(chain, "erin");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, LookupOutcome::Found);
}

TEST(BackendChain, DeniedStopsTheWalk) {
  auto denied = std::make_shared<ScriptedBackend>(LookupResult::denied(402, "no credit"));
  auto found = std::make_shared<ScriptedBackend>(LookupResult::found(user_named("frank", "pw")));
  BackendChain chain({denied, found});
  auto result = lookup_now(chain, "frank");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, LookupOutcome::Denied);
  EXPECT_EQ(result->sip_code, 402);
  EXPECT_EQ(found->calls, 0);
}

TEST(BackendChain, AsynchronousBackendsAnswerOnce) {
  auto slow_missing = std::make_shared<ScriptedBackend>(LookupResult::not_found(), true);
  auto slow_found = std::make_shared<ScriptedBackend>(LookupResult::found(user_named("gina", "pw")), true);
  BackendChain chain({slow_missing, slow_found});
  std::promise<LookupResult> answer;
  auto future = answer.get_future();
  chain.lookup({"gina", "example.com"}, [&answer](LookupResult r) { answer.set_value(std::move(r)); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get().user.username, "gina");
}

TEST(BackendChain, ReloadReachesEveryBackend) {
  auto a = std::make_shared<ScriptedBackend>(LookupResult::not_found());
  auto b = std::make_shared<ScriptedBackend>(LookupResult::not_found());
  BackendChain chain({a, b});
  chain.reload();
  EXPECT_EQ(a->reloads, 1);
  EXPECT_EQ(b->reloads, 1);
  EXPECT_EQ(chain.size(), 2u);
}

}  // namespace
}  // namespace cppbx::users
