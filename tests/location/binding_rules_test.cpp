// apply_binding_rules on its own: the parts of BindingUpdate only a store
// needs to write its difference (replaced, expired), the store-wide bound,
// and that the function only depends on its inputs.
#include "location/binding_rules.hpp"

#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cppbx::location {
namespace {

using namespace std::chrono_literals;

const Clock::time_point kNow = Clock::time_point(1700000000s);

Binding stored(std::string contact, Clock::time_point expires, std::string call_id = "old", uint32_t cseq = 1) {
  Binding b;
  b.aor = "sip:a@x";
  b.contact = std::move(contact);
  b.expires_at = expires;
  b.call_id = std::move(call_id);
  b.cseq = cseq;
  return b;
}

UpdateRequest upsert(std::string contact, std::string call_id = "new", uint32_t cseq = 1) {
  UpdateRequest request;
  request.aor = "sip:a@x";
  request.call_id = std::move(call_id);
  request.cseq = cseq;
  Binding b;
  b.contact = std::move(contact);
  b.expires_at = kNow + 60s;
  request.upserts.push_back(std::move(b));
  return request;
}

std::vector<std::string> contacts(std::span<const Binding> list) {
  std::vector<std::string> out;
  for (const Binding& b : list) out.push_back(b.contact);
  return out;
}

TEST(BindingRules, RefreshReportsTheEarlierVersionAsReplaced) {
  BindingUpdate update = apply_binding_rules({stored("sip:1", kNow + 10s), stored("sip:2", kNow + 10s)},
                                             upsert("sip:1"), BindingRules{}, kNow);
  ASSERT_EQ(update.status, UpdateStatus::Ok);
  EXPECT_EQ(contacts(update.bindings), (std::vector<std::string>{"sip:2", "sip:1"}));
  EXPECT_EQ(contacts(update.replaced), std::vector<std::string>{"sip:1"});
  EXPECT_EQ(update.replaced[0].expires_at, kNow + 10s);
  EXPECT_TRUE(update.removed.empty());
  EXPECT_EQ(update.bindings[1].last_modified, kNow) << "upserts are stamped with `now`";
  EXPECT_EQ(update.bindings[1].call_id, "new");
  EXPECT_EQ(update.bindings[1].aor, "sip:a@x");
}

TEST(BindingRules, ExpiredBindingsAreDroppedEvenWhenTheRequestIsOutOfOrder) {
  BindingUpdate update =
      apply_binding_rules({stored("sip:gone", kNow), stored("sip:1", kNow + 10s, "new", 5)},
                          upsert("sip:1", "new", 5), BindingRules{}, kNow);
  EXPECT_EQ(update.status, UpdateStatus::OutOfOrder);
  EXPECT_EQ(contacts(update.expired), std::vector<std::string>{"sip:gone"});
  EXPECT_EQ(contacts(update.bindings), std::vector<std::string>{"sip:1"});
  EXPECT_TRUE(update.registered().empty());
  UpdateResult result = update.to_result();
  EXPECT_EQ(result.status, UpdateStatus::OutOfOrder);
  EXPECT_EQ(contacts(result.current), std::vector<std::string>{"sip:1"});
}

TEST(BindingRules, RoomForNewBoundsNewKeysButNotRefreshes) {
  BindingRules full;
  full.room_for_new = 0;
  EXPECT_EQ(apply_binding_rules({stored("sip:1", kNow + 10s)}, upsert("sip:2"), full, kNow).status,
            UpdateStatus::Error);
  EXPECT_EQ(apply_binding_rules({stored("sip:1", kNow + 10s)}, upsert("sip:1"), full, kNow).status,
            UpdateStatus::Ok);
  BindingRules one;
  one.room_for_new = 1;
  EXPECT_EQ(apply_binding_rules({}, upsert("sip:2"), one, kNow).status, UpdateStatus::Ok);
}

TEST(BindingRules, ZeroLimitIsUnlimited) {
  BindingRules unlimited;
  unlimited.max_bindings_per_aor = 0;
  std::vector<Binding> list;
  for (int i = 0; i < 50; ++i) list.push_back(stored("sip:" + std::to_string(i), kNow + 10s));
  BindingUpdate update = apply_binding_rules(list, upsert("sip:new"), unlimited, kNow);
  EXPECT_EQ(update.bindings.size(), 51u);
  EXPECT_TRUE(update.removed.empty());
}

TEST(BindingRules, RequestWithoutCallIdKeepsTheUpsertsOwnCallIdAndIsNeverOutOfOrder) {
  UpdateRequest request = upsert("sip:1", "", 0);
  request.upserts[0].call_id = "own";
  request.upserts[0].cseq = 9;
  BindingUpdate update = apply_binding_rules({stored("sip:1", kNow + 10s, "", 100)}, request, BindingRules{}, kNow);
  ASSERT_EQ(update.status, UpdateStatus::Ok);
  EXPECT_EQ(update.bindings[0].call_id, "own");
  EXPECT_EQ(update.bindings[0].cseq, 9u);
}

TEST(BindingRules, SameInputsGiveTheSameOutput) {
  std::vector<Binding> list{stored("sip:1", kNow + 10s), stored("sip:2", kNow - 1s)};
  BindingUpdate first = apply_binding_rules(list, upsert("sip:3"), BindingRules{}, kNow);
  BindingUpdate second = apply_binding_rules(list, upsert("sip:3"), BindingRules{}, kNow);
  EXPECT_EQ(contacts(first.bindings), contacts(second.bindings));
  EXPECT_EQ(contacts(first.expired), contacts(second.expired));
  EXPECT_EQ(contacts(list), (std::vector<std::string>{"sip:1", "sip:2"})) << "the input is not changed";
}

TEST(BindingRules, RegisteredAreTheRequestsUpsertsAtTheEnd) {
  UpdateRequest request = upsert("sip:1");
  Binding second;
  second.contact = "sip:3";
  second.expires_at = kNow + 60s;
  request.upserts.push_back(second);
  BindingUpdate update = apply_binding_rules({stored("sip:1", kNow + 10s), stored("sip:2", kNow + 10s)},
                                             request, BindingRules{}, kNow);
  ASSERT_EQ(update.status, UpdateStatus::Ok);
  EXPECT_EQ(contacts(update.bindings), (std::vector<std::string>{"sip:2", "sip:1", "sip:3"}));
  EXPECT_EQ(contacts(update.registered()), (std::vector<std::string>{"sip:1", "sip:3"}));
  UpdateResult result = update.to_result();
  EXPECT_EQ(contacts(result.registered()), (std::vector<std::string>{"sip:1", "sip:3"}));
  EXPECT_EQ(contacts(result.current), (std::vector<std::string>{"sip:2", "sip:1", "sip:3"}));
}

TEST(BindingRules, TheSameContactTwiceInOneRequestIsRegisteredOnce) {
  UpdateRequest request = upsert("sip:1");
  request.upserts.push_back(request.upserts[0]);
  BindingUpdate update = apply_binding_rules({stored("sip:2", kNow + 10s)}, request, BindingRules{}, kNow);
  EXPECT_EQ(contacts(update.bindings), (std::vector<std::string>{"sip:2", "sip:1"}));
  EXPECT_EQ(contacts(update.registered()), std::vector<std::string>{"sip:1"});
}

TEST(BindingRules, AnUpsertEvictedByTheLimitAtOnceIsNotRegistered) {
  BindingRules two;
  two.max_bindings_per_aor = 2;
  UpdateRequest request = upsert("sip:a");
  for (const char* contact : {"sip:b", "sip:c"}) {
    Binding more;
    more.contact = contact;
    more.expires_at = kNow + 60s;
    request.upserts.push_back(more);
  }
  BindingUpdate update = apply_binding_rules({stored("sip:old", kNow + 10s)}, request, two, kNow);
  EXPECT_EQ(contacts(update.bindings), (std::vector<std::string>{"sip:b", "sip:c"}));
  EXPECT_EQ(contacts(update.registered()), (std::vector<std::string>{"sip:b", "sip:c"}));
  EXPECT_EQ(contacts(update.removed), (std::vector<std::string>{"sip:old", "sip:a"}));

  BindingUpdate refresh = apply_binding_rules({stored("sip:x", kNow + 10s), stored("sip:y", kNow + 10s)},
                                              upsert("sip:z"), two, kNow);
  EXPECT_EQ(contacts(refresh.registered()), std::vector<std::string>{"sip:z"});
  EXPECT_EQ(contacts(refresh.removed), std::vector<std::string>{"sip:x"});
}

TEST(BindingRules, RemovalsRegisterNothing) {
  UpdateRequest request;
  request.aor = "sip:a@x";
  request.call_id = "new";
  request.cseq = 2;
  request.removals.push_back("sip:1");
  BindingUpdate update = apply_binding_rules({stored("sip:1", kNow + 10s), stored("sip:2", kNow + 10s)},
                                             request, BindingRules{}, kNow);
  EXPECT_EQ(contacts(update.bindings), std::vector<std::string>{"sip:2"});
  EXPECT_TRUE(update.registered().empty());
  EXPECT_TRUE(update.to_result().registered().empty());
}

}  // namespace
}  // namespace cppbx::location
