// Stateless nonces: valid while young, stale when old, invalid when forged,
// tampered or issued under another secret; and the nonce-count table.
#include <cstring>

#include <gtest/gtest.h>

#include "auth/nonce.hpp"

namespace cppbx::auth {
namespace {

struct FakeClock {
  int64_t now = 1'700'000'000;
  SecondsClock function() {
    return [this] { return now; };
  }
};

TEST(Base64Url, RoundTripsEveryLength) {
  uint8_t input[10] = {0, 1, 2, 250, 251, 252, 253, 254, 255, 128};
  for (size_t size = 0; size <= sizeof input; ++size) {
    std::string text = base64url_encode(input, size);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    uint8_t output[16] = {};
    auto decoded = base64url_decode(text, output, sizeof output);
    ASSERT_TRUE(decoded) << text;
    ASSERT_EQ(*decoded, size);
    EXPECT_EQ(0, std::memcmp(input, output, size));
  }
  uint8_t output[4];
  EXPECT_FALSE(base64url_decode("ab+c", output, sizeof output));
  EXPECT_FALSE(base64url_decode("abcde", output, sizeof output));   // impossible length
  EXPECT_FALSE(base64url_decode("AAAAAAAA", output, sizeof output));  // 6 bytes, no room
}

TEST(NonceIssuer, FreshNonceIsValidAndUnique) {
  FakeClock clock;
  NonceIssuer issuer("secret", std::chrono::seconds(300), clock.function());
  std::string a = issuer.issue();
  std::string b = issuer.issue();
  EXPECT_NE(a, b);
  NonceCheck check = issuer.check(a);
  EXPECT_EQ(check.status, NonceStatus::Valid);
  EXPECT_EQ(check.expires_at, clock.now + 300);
  EXPECT_NE(issuer.check(b).key, check.key);
}

TEST(NonceIssuer, OldNonceIsStale) {
  FakeClock clock;
  NonceIssuer issuer("secret", std::chrono::seconds(300), clock.function());
  std::string nonce = issuer.issue();
  clock.now += 300;
  EXPECT_EQ(issuer.check(nonce).status, NonceStatus::Valid);
  clock.now += 1;
  EXPECT_EQ(issuer.check(nonce).status, NonceStatus::Stale);
}

TEST(NonceIssuer, TamperedOrForeignNonceIsInvalid) {
  FakeClock clock;
  NonceIssuer issuer("secret", std::chrono::seconds(300), clock.function());
  NonceIssuer other("another secret", std::chrono::seconds(300), clock.function());
  std::string nonce = issuer.issue();
  for (size_t i = 0; i < nonce.size(); ++i) {
    std::string tampered = nonce;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(issuer.check(tampered).status, NonceStatus::Invalid) << "position " << i;
  }
  EXPECT_EQ(issuer.check(other.issue()).status, NonceStatus::Invalid);
  EXPECT_EQ(issuer.check("").status, NonceStatus::Invalid);
  EXPECT_EQ(issuer.check("dcd98b7102dd2f0e8b11d0f600bfb0c093").status, NonceStatus::Invalid);
  EXPECT_EQ(issuer.check(nonce + "A").status, NonceStatus::Invalid);
  EXPECT_EQ(issuer.check(std::string(43, '"')).status, NonceStatus::Invalid);
}

TEST(NonceIssuer, NonceFromTheFutureIsInvalid) {
  FakeClock clock;
  NonceIssuer issuer("secret", std::chrono::seconds(300), clock.function());
  clock.now += 3600;
  std::string nonce = issuer.issue();
  clock.now -= 3600;
  EXPECT_EQ(issuer.check(nonce).status, NonceStatus::Invalid);
}

TEST(NonceIssuer, SameSecretVerifiesAcrossInstancesAndOpaqueIsStable) {
  FakeClock clock;
  NonceIssuer first("shared", std::chrono::seconds(300), clock.function());
  NonceIssuer second("shared", std::chrono::seconds(300), clock.function());
  EXPECT_EQ(second.check(first.issue()).status, NonceStatus::Valid);
  EXPECT_EQ(first.opaque(), second.opaque());
  NonceIssuer random_secret("", std::chrono::seconds(300), clock.function());
  EXPECT_NE(random_secret.opaque(), first.opaque());
  EXPECT_EQ(random_secret.check(first.issue()).status, NonceStatus::Invalid);
}

TEST(NonceIssuer, IssuersWithOtherSecretsAlternatingOnOneThreadKeepTheirKeys) {
  // Each thread keeps one keyed cipher context and re-keys it when another
  // issuer used it last; a stale key would accept or refuse the wrong nonces.
  FakeClock clock;
  NonceIssuer a("secret a", std::chrono::seconds(300), clock.function());
  NonceIssuer b("secret b", std::chrono::seconds(300), clock.function());
  for (int round = 0; round < 3; ++round) {
    std::string from_a = a.issue();
    std::string from_b = b.issue();
    EXPECT_EQ(b.check(from_a).status, NonceStatus::Invalid);
    EXPECT_EQ(a.check(from_a).status, NonceStatus::Valid);
    EXPECT_EQ(a.check(from_b).status, NonceStatus::Invalid);
    EXPECT_EQ(b.check(from_b).status, NonceStatus::Valid);
  }
  std::string late;
  {
    NonceIssuer gone("secret a", std::chrono::seconds(300), clock.function());
    late = gone.issue();
  }
  NonceIssuer successor("secret c", std::chrono::seconds(300), clock.function());
  EXPECT_EQ(successor.check(late).status, NonceStatus::Invalid) << "a new issuer must not inherit a key";
  EXPECT_EQ(a.check(late).status, NonceStatus::Valid) << "same secret, same key";
}

TEST(NonceCounter, RefusesRepeatedOrLowerCounts) {
  FakeClock clock;
  NonceCounter counter(1000, clock.function());
  NonceKey key{};
  key[0] = 1;
  EXPECT_EQ(counter.record(key, clock.now + 300, 1), CountResult::Accepted);
  EXPECT_EQ(counter.record(key, clock.now + 300, 1), CountResult::Replay);
  EXPECT_EQ(counter.record(key, clock.now + 300, 3), CountResult::Accepted);
  EXPECT_EQ(counter.record(key, clock.now + 300, 2), CountResult::Replay);
  NonceKey other{};
  other[0] = 2;
  EXPECT_EQ(counter.record(other, clock.now + 300, 1), CountResult::Accepted);
  EXPECT_EQ(counter.size(), 2u);
}

TEST(NonceCounter, SingleUseNonceCannotBeReused) {
  FakeClock clock;
  NonceCounter counter(1000, clock.function());
  NonceKey key{};
  EXPECT_EQ(counter.record(key, clock.now + 300, NonceCounter::kSingleUse), CountResult::Accepted);
  EXPECT_EQ(counter.record(key, clock.now + 300, NonceCounter::kSingleUse), CountResult::Replay);
  EXPECT_EQ(counter.record(key, clock.now + 300, 5), CountResult::Replay);
}

TEST(NonceCounter, ExpiredEntriesArePrunedAndSizeIsCapped) {
  FakeClock clock;
  NonceCounter counter(16, clock.function());  // one entry per shard
  NonceKey key{};
  key[15] = 3;
  EXPECT_EQ(counter.record(key, clock.now + 10, 1), CountResult::Accepted);
  NonceKey same_shard = key;
  same_shard[0] = 9;
  EXPECT_EQ(counter.record(same_shard, clock.now + 10, 1), CountResult::Full);
  clock.now += 11;  // the first nonce expired: its entry makes room
  EXPECT_EQ(counter.record(same_shard, clock.now + 10, 1), CountResult::Accepted);
  EXPECT_EQ(counter.size(), 1u);
}

TEST(NonceCounter, ManyNoncesStayTrackedAcrossGrowthAndExpiry) {
  FakeClock clock;
  NonceCounter counter(1'000'000, clock.function());
  auto key_of = [](uint32_t i) {
    NonceKey key{};
    // Low bytes alike for many keys, so probe runs get long and cross.
    key[0] = static_cast<uint8_t>(i % 7);
    key[4] = static_cast<uint8_t>(i);
    key[5] = static_cast<uint8_t>(i >> 8);
    key[15] = static_cast<uint8_t>(i % 3);  // three shards only
    return key;
  };
  constexpr uint32_t kCount = 5000;
  // The first half expires 20 s from now, the second half (recorded 10 s
  // later) 600 s from then.
  for (uint32_t i = 0; i < kCount; ++i) {
    if (i == kCount / 2) clock.now += 10;
    const int64_t expires_at = clock.now + (i < kCount / 2 ? 20 : 600);
    ASSERT_EQ(counter.record(key_of(i), expires_at, 1), CountResult::Accepted) << i;
  }
  EXPECT_EQ(counter.size(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(counter.record(key_of(i), clock.now + 600, 1), CountResult::Replay) << i;
  }
  clock.now += 15;  // the first half has expired
  NonceKey fresh{};
  fresh[0] = 200;
  for (uint8_t shard = 0; shard < 3; ++shard) {
    fresh[15] = shard;
    ASSERT_EQ(counter.record(fresh, clock.now + 600, 1), CountResult::Accepted);
  }
  EXPECT_EQ(counter.size(), kCount / 2 + 3);
  // Entries moved by the deletions are all still found.
  for (uint32_t i = kCount / 2; i < kCount; ++i) {
    ASSERT_EQ(counter.record(key_of(i), clock.now + 600, 1), CountResult::Replay) << i;
    ASSERT_EQ(counter.record(key_of(i), clock.now + 600, 2), CountResult::Accepted) << i;
  }
  // An expired nonce's entry is gone (the issuer refuses such a nonce as
  // stale before it gets here).
  EXPECT_EQ(counter.record(key_of(0), clock.now + 600, 1), CountResult::Accepted);
}

TEST(NonceCounter, AFullShardDropsAnExpiredEntryRecordedAfterALiveOne) {
  FakeClock clock;
  NonceCounter counter(32, clock.function());  // two entries per shard
  NonceKey live{}, short_lived{}, next{};
  live[0] = 1;
  short_lived[0] = 2;
  next[0] = 3;
  EXPECT_EQ(counter.record(live, clock.now + 100, 1), CountResult::Accepted);
  EXPECT_EQ(counter.record(short_lived, clock.now + 10, 1), CountResult::Accepted);
  EXPECT_EQ(counter.record(next, clock.now + 100, 1), CountResult::Full);
  clock.now += 20;
  EXPECT_EQ(counter.record(next, clock.now + 100, 1), CountResult::Accepted);
  EXPECT_EQ(counter.size(), 2u);
  EXPECT_EQ(counter.record(live, clock.now + 100, 1), CountResult::Replay);
}

}  // namespace
}  // namespace cppbx::auth
