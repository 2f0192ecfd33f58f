// Md5Fallback: the life cycle of a client's keys (challenged, answered,
// narrowed, expired), which keys tell clients apart, the memory cap, and
// concurrent use.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "auth/md5_fallback.hpp"

namespace cppbx::auth {
namespace {

using Decision = Md5Fallback::Decision;

class Md5FallbackTest : public ::testing::Test {
 protected:
  std::atomic<int64_t> now{1'700'000'000};
  Md5Fallback::Options options;
  std::unique_ptr<Md5Fallback> fallback;

  void SetUp() override { make(); }
  void make() {
    fallback = std::make_unique<Md5Fallback>(options, [this] { return now.load(); });
  }

  static ClientIdentity phone(std::string_view call_id = "call-1") {
    return {"192.0.2.10", call_id, "alice", "REGISTER", "192.0.2.10", 5060};
  }
};

TEST_F(Md5FallbackTest, UnknownClientGetsTheFullOffer) {
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::FullOffer);
  EXPECT_FALSE(fallback->md5_only(phone()));
  EXPECT_EQ(fallback->size(), 0u);
}

TEST_F(Md5FallbackTest, ComingBackWithoutAnsweringNarrowsToMd5AndIsRemembered) {
  fallback->challenged(phone());
  EXPECT_FALSE(fallback->md5_only(phone()));
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::ChallengeUnanswered);
  EXPECT_TRUE(fallback->md5_only(phone()));
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::RememberedMd5Only);
}

TEST_F(Md5FallbackTest, AnsweringForgetsThePendingChallenge) {
  fallback->challenged(phone());
  fallback->answered(phone());
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::FullOffer);
  EXPECT_EQ(fallback->size(), 0u);
}

TEST_F(Md5FallbackTest, AnsweringDoesNotForgetAnMd5OnlyClient) {
  fallback->narrow(phone());
  fallback->answered(phone());  // it answered the MD5 challenge
  EXPECT_TRUE(fallback->md5_only(phone()));
  fallback->challenged(phone());  // a full offer sent anyway keeps it narrowed
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::RememberedMd5Only);
}

TEST_F(Md5FallbackTest, NewCallIdFromTheSameDeviceIsStillRecognised) {
  fallback->challenged(phone("call-1"));
  EXPECT_EQ(fallback->before_challenge(phone("call-2")), Decision::ChallengeUnanswered);
  // And the new Call-ID is now remembered on its own.
  EXPECT_TRUE(fallback->md5_only({"192.0.2.10", "call-2", "bob", "INVITE", "", 0}));
}

TEST_F(Md5FallbackTest, SameCallIdIsRecognisedWhateverTheOtherFields) {
  fallback->challenged(phone("call-1"));
  // A restarted client may say another user or Contact, but the Call-ID is the same.
  EXPECT_EQ(fallback->before_challenge({"192.0.2.10", "call-1", "x", "OPTIONS", "10.0.0.9", 1}),
            Decision::ChallengeUnanswered);
}

TEST_F(Md5FallbackTest, OtherAddressesUsersDevicesAndMethodsAreOtherClients) {
  fallback->narrow(phone("call-1"));
  EXPECT_FALSE(fallback->md5_only({"192.0.2.11", "call-1", "alice", "REGISTER", "192.0.2.10", 5060}))
      << "source address is part of both keys";
  EXPECT_FALSE(fallback->md5_only({"192.0.2.10", "call-9", "bob", "REGISTER", "192.0.2.10", 5060}));
  EXPECT_FALSE(fallback->md5_only({"192.0.2.10", "call-9", "alice", "INVITE", "192.0.2.10", 5060}));
  EXPECT_FALSE(fallback->md5_only({"192.0.2.10", "call-9", "alice", "REGISTER", "10.1.1.7", 5060}))
      << "another device behind the same address";
  EXPECT_FALSE(fallback->md5_only({"192.0.2.10", "call-9", "alice", "REGISTER", "192.0.2.10", 5062}));
  EXPECT_TRUE(fallback->md5_only({"192.0.2.10", "call-9", "alice", "REGISTER", "192.0.2.10", 5060}));
}

TEST_F(Md5FallbackTest, FieldBoundariesDoNotCollide) {
  fallback->narrow({"192.0.2.1", "0call", "alice", "REGISTER", "", 0});
  EXPECT_FALSE(fallback->md5_only({"192.0.2.10", "call", "x", "REGISTER", "", 0}));
}

TEST_F(Md5FallbackTest, EntriesExpireAfterTheLifetimeSinceLastUse) {
  fallback->narrow(phone());
  now += options.lifetime.count() - 1;
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::RememberedMd5Only);  // renews
  now += options.lifetime.count() - 1;
  EXPECT_TRUE(fallback->md5_only(phone()));
  now += 1;
  EXPECT_FALSE(fallback->md5_only(phone()));
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::FullOffer);
  EXPECT_EQ(fallback->size(), 0u) << "expired entries leave when met";
}

TEST_F(Md5FallbackTest, PendingChallengeAlsoExpires) {
  fallback->challenged(phone());
  now += options.lifetime.count();
  EXPECT_EQ(fallback->before_challenge(phone()), Decision::FullOffer);
}

TEST_F(Md5FallbackTest, MemoryIsCapped) {
  options.max_entries = 16 * 4;  // 4 per shard
  make();
  for (int i = 0; i < 10'000; ++i) {
    fallback->challenged({"198.51.100.7", "flood-" + std::to_string(i), "u" + std::to_string(i),
                          "REGISTER", "", 0});
    ASSERT_LE(fallback->size(), options.max_entries);
  }
  EXPECT_EQ(fallback->size(), options.max_entries);
  // A client whose entry was pushed out is narrowed again after one more
  // unanswered challenge.
  fallback->challenged(phone("again"));
  EXPECT_EQ(fallback->before_challenge(phone("again")), Decision::ChallengeUnanswered);
}

TEST_F(Md5FallbackTest, ActiveClientSurvivesAFloodOfNewOnes) {
  options.max_entries = 16 * 3;  // room for its two keys plus one more per shard
  make();
  fallback->narrow(phone("active"));
  for (int i = 0; i < 2'000; ++i) {
    fallback->challenged({"198.51.100.7", "flood-" + std::to_string(i), "u" + std::to_string(i),
                          "REGISTER", "", 0});
    // Its requests keep it the most recently used in its shards.
    ASSERT_EQ(fallback->before_challenge(phone("active")), Decision::RememberedMd5Only) << i;
  }
}

TEST_F(Md5FallbackTest, ConcurrentUseIsConsistent) {
  constexpr int kThreads = 4;
  constexpr int kClients = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kClients; ++i) {
        std::string call_id = "t" + std::to_string(t) + "-" + std::to_string(i);
        std::string user = "u" + call_id;
        ClientIdentity client{"203.0.113.5", call_id, user, "REGISTER", "", 0};
        fallback->challenged(client);
        if (i % 2 == 0) {
          fallback->answered(client);
        } else {
          fallback->before_challenge(client);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kClients; ++i) {
      std::string call_id = "t" + std::to_string(t) + "-" + std::to_string(i);
      std::string user = "u" + call_id;
      EXPECT_EQ(fallback->md5_only({"203.0.113.5", call_id, user, "REGISTER", "", 0}), i % 2 == 1)
          << call_id;
    }
  }
  // Odd clients: two Md5Only keys each; even ones left nothing behind.
  EXPECT_EQ(fallback->size(), static_cast<size_t>(kThreads * kClients));
}

}  // namespace
}  // namespace cppbx::auth
