// The server side of digest: challenges in the configured order, verification
// with a password or a stored HA1, stale and replayed nonces, and the checks
// that happen before any user lookup.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "auth/digest_authenticator.hpp"

namespace cppbx::auth {
void PrintTo(Verdict verdict, std::ostream* out) { *out << verdict_name(verdict); }
namespace {

constexpr std::string_view kRealm = "example.com";
constexpr std::string_view kUri = "sip:example.com";

// Pulls `name="value"` or `name=value` out of a challenge.
std::string param_of(std::string_view challenge, std::string_view name) {
  std::string key = std::string(name) + "=";
  size_t at = challenge.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  if (challenge[at] == '"') {
    size_t end = challenge.find('"', at + 1);
    return std::string(challenge.substr(at + 1, end - at - 1));
  }
  size_t end = challenge.find(',', at);
  return std::string(challenge.substr(at, end == std::string_view::npos ? end : end - at));
}

class DigestAuthenticatorTest : public ::testing::Test {
 protected:
  int64_t now = 1'700'000'000;
  DigestAuthenticator authenticator{DigestAuthenticator::Options{{DigestAlgorithm::Sha256, DigestAlgorithm::Md5},
                                                                 std::chrono::seconds(300), "s3cret", 1000},
                                    [this] { return now; }};

  // What a client answering `challenge` would send.
  struct Answer {
    std::string username = "alice", realm = std::string(kRealm), nonce, uri = std::string(kUri), response,
                algorithm, cnonce = "0a4f113b", nc = "00000001", qop = "auth", opaque;
    DigestCredentials view() const {
      return {username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque};
    }
  };
  Answer answer(const std::string& challenge, std::string_view password, std::string nc = "00000001") {
    Answer a;
    a.nonce = param_of(challenge, "nonce");
    a.opaque = param_of(challenge, "opaque");
    a.algorithm = param_of(challenge, "algorithm");
    a.nc = std::move(nc);
    sign(a, password);
    return a;
  }
  static void sign(Answer& a, std::string_view password) {
    auto algorithm = parse_algorithm(a.algorithm.empty() ? "MD5" : a.algorithm).value();
    std::string ha1 = compute_ha1(algorithm, a.username, a.realm, password);
    a.response = compute_response(algorithm, {ha1, a.nonce, "REGISTER", a.uri, a.qop, a.nc, a.cnonce});
  }
};

TEST_F(DigestAuthenticatorTest, ChallengesFollowConfiguredOrderAndShareANonce) {
  auto values = authenticator.challenges(kRealm, false);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].rfind("Digest realm=\"example.com\", nonce=\"", 0), 0u) << values[0];
  EXPECT_EQ(param_of(values[0], "algorithm"), "SHA-256");
  EXPECT_EQ(param_of(values[1], "algorithm"), "MD5");
  EXPECT_EQ(param_of(values[0], "qop"), "auth");
  EXPECT_EQ(param_of(values[0], "nonce"), param_of(values[1], "nonce"));
  EXPECT_FALSE(param_of(values[0], "opaque").empty());
  EXPECT_EQ(values[0].find("stale"), std::string::npos);
  auto stale = authenticator.challenges(kRealm, true);
  EXPECT_EQ(param_of(stale[1], "stale"), "true");
}

TEST_F(DigestAuthenticatorTest, ParsesAlgorithmLists) {
  std::string bad;
  auto list = DigestAuthenticator::parse_algorithm_list({"MD5", "SHA-256", "md5"}, &bad);
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::vector<DigestAlgorithm>{DigestAlgorithm::Md5, DigestAlgorithm::Sha256}));
  EXPECT_FALSE(DigestAuthenticator::parse_algorithm_list({"SHA-256", "SHA-1"}, &bad));
  EXPECT_EQ(bad, "SHA-1");
}

TEST_F(DigestAuthenticatorTest, CorrectPasswordWithEitherAlgorithm) {
  // Each challenge set shares one nonce, so answer each from its own set.
  for (size_t i = 0; i < 2; ++i) {
    std::string challenge = authenticator.challenges(kRealm, false)[i];
    Answer a = answer(challenge, "pa55");
    EXPECT_EQ(authenticator.verify(a.view(), "REGISTER", {"pa55", {}}), Verdict::Ok) << challenge;
  }
}

TEST_F(DigestAuthenticatorTest, WrongPasswordAndTamperedFieldsAreRejected) {
  std::string challenge = authenticator.challenges(kRealm, false)[0];
  Answer wrong = answer(challenge, "guess");
  EXPECT_EQ(authenticator.verify(wrong.view(), "REGISTER", {"pa55", {}}), Verdict::WrongResponse);
  Answer other_method = answer(challenge, "pa55");
  EXPECT_EQ(authenticator.verify(other_method.view(), "INVITE", {"pa55", {}}), Verdict::WrongResponse);
  Answer other_uri = answer(challenge, "pa55");
  other_uri.uri = "sip:evil.com";
  EXPECT_EQ(authenticator.verify(other_uri.view(), "REGISTER", {"pa55", {}}), Verdict::WrongResponse);
  Answer no_secret = answer(challenge, "");
  EXPECT_EQ(authenticator.verify(no_secret.view(), "REGISTER", {"", {}}), Verdict::WrongResponse);
}

TEST_F(DigestAuthenticatorTest, StoredHa1WorksForMd5Only) {
  auto values = authenticator.challenges(kRealm, false);
  std::string ha1 = compute_ha1(DigestAlgorithm::Md5, "alice", kRealm, "pa55");
  for (char& c : ha1) c = static_cast<char>(std::toupper(c));  // stored in upper case
  Answer md5 = answer(values[1], "pa55");
  EXPECT_EQ(authenticator.verify(md5.view(), "REGISTER", {{}, ha1}), Verdict::Ok);
  Answer md5_wrong = answer(values[1], "guess", "00000002");
  EXPECT_EQ(authenticator.verify(md5_wrong.view(), "REGISTER", {{}, ha1}), Verdict::WrongResponse);
  Answer sha = answer(values[0], "pa55");
  EXPECT_EQ(authenticator.verify(sha.view(), "REGISTER", {{}, ha1}), Verdict::CannotVerify);
}

TEST_F(DigestAuthenticatorTest, StaleNonceWithRightPasswordIsStaleElseWrong) {
  std::string challenge = authenticator.challenges(kRealm, false)[0];
  now += 301;
  Answer right = answer(challenge, "pa55");
  EXPECT_EQ(authenticator.precheck(right.view()).verdict, Verdict::Ok);
  EXPECT_EQ(authenticator.precheck(right.view()).nonce.status, NonceStatus::Stale);
  EXPECT_EQ(authenticator.verify(right.view(), "REGISTER", {"pa55", {}}), Verdict::Stale);
  Answer wrong = answer(challenge, "guess");
  EXPECT_EQ(authenticator.verify(wrong.view(), "REGISTER", {"pa55", {}}), Verdict::WrongResponse);
}

TEST_F(DigestAuthenticatorTest, NonceCountReplayIsRefused) {
  std::string challenge = authenticator.challenges(kRealm, false)[0];
  Answer first = answer(challenge, "pa55", "00000001");
  EXPECT_EQ(authenticator.verify(first.view(), "REGISTER", {"pa55", {}}), Verdict::Ok);
  EXPECT_EQ(authenticator.verify(first.view(), "REGISTER", {"pa55", {}}), Verdict::Replay);
  Answer second = answer(challenge, "pa55", "00000002");
  EXPECT_EQ(authenticator.verify(second.view(), "REGISTER", {"pa55", {}}), Verdict::Ok);
  EXPECT_EQ(authenticator.verify(first.view(), "REGISTER", {"pa55", {}}), Verdict::Replay);
  EXPECT_EQ(authenticator.tracked_nonces(), 1u);
}

TEST_F(DigestAuthenticatorTest, ForgedHighCountDoesNotBurnTheNonce) {
  std::string challenge = authenticator.challenges(kRealm, false)[0];
  Answer forged = answer(challenge, "guess", "ffffffff");
  EXPECT_EQ(authenticator.verify(forged.view(), "REGISTER", {"pa55", {}}), Verdict::WrongResponse);
  Answer legit = answer(challenge, "pa55", "00000001");
  EXPECT_EQ(authenticator.verify(legit.view(), "REGISTER", {"pa55", {}}), Verdict::Ok);
}

TEST_F(DigestAuthenticatorTest, AnAnswerWithoutQopIsNotAccepted) {
  // The challenge offered qop="auth"; an RFC 2069 answer would bypass the
  // cnonce / nonce-count protection even with the right password.
  std::string challenge = authenticator.challenges(kRealm, false)[1];  // MD5
  Answer a = answer(challenge, "pa55");
  a.qop.clear();
  a.nc.clear();
  a.cnonce.clear();
  a.algorithm.clear();  // RFC 2069 clients send no algorithm: MD5
  sign(a, "pa55");
  EXPECT_EQ(authenticator.precheck(a.view()).verdict, Verdict::UnsupportedQop);
  EXPECT_NE(authenticator.verify(a.view(), "REGISTER", {"pa55", {}}), Verdict::Ok);
}

TEST_F(DigestAuthenticatorTest, PrecheckRefusesWhatCannotBeRight) {
  std::string challenge = authenticator.challenges(kRealm, false)[0];
  Answer good = answer(challenge, "pa55");
  EXPECT_EQ(authenticator.precheck(good.view()).verdict, Verdict::Ok);

  Answer missing = good;
  missing.response.clear();
  EXPECT_EQ(authenticator.precheck(missing.view()).verdict, Verdict::Malformed);
  Answer bad_nc = good;
  bad_nc.nc = "xyz";
  EXPECT_EQ(authenticator.precheck(bad_nc.view()).verdict, Verdict::Malformed);
  Answer short_response = good;
  short_response.response = "abcd";
  EXPECT_EQ(authenticator.precheck(short_response.view()).verdict, Verdict::Malformed);
  Answer sess = good;
  sess.algorithm = "SHA-256-sess";
  EXPECT_EQ(authenticator.precheck(sess.view()).verdict, Verdict::UnsupportedAlgorithm);
  Answer auth_int = good;
  auth_int.qop = "auth-int";
  EXPECT_EQ(authenticator.precheck(auth_int.view()).verdict, Verdict::UnsupportedQop);
  Answer no_opaque = good;
  no_opaque.opaque.clear();
  EXPECT_EQ(authenticator.precheck(no_opaque.view()).verdict, Verdict::Ok);
  EXPECT_EQ(authenticator.precheck(no_opaque.view()).nonce.status, NonceStatus::Valid);
}

TEST_F(DigestAuthenticatorTest, ForeignNonceOrOpaqueIsInvalidOnlyWithTheRightPassword) {
  std::string challenge = authenticator.challenges(kRealm, false)[0];
  Answer foreign_opaque = answer(challenge, "pa55");
  foreign_opaque.opaque = "5ccc069c403ebaf9f0171e9517f40e41";
  EXPECT_EQ(authenticator.precheck(foreign_opaque.view()).nonce.status, NonceStatus::Invalid);
  EXPECT_EQ(authenticator.verify(foreign_opaque.view(), "REGISTER", {"pa55", {}}), Verdict::InvalidNonce);

  Answer forged_nonce = answer(challenge, "pa55");
  forged_nonce.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  sign(forged_nonce, "pa55");
  EXPECT_EQ(authenticator.precheck(forged_nonce.view()).verdict, Verdict::Ok);
  EXPECT_EQ(authenticator.precheck(forged_nonce.view()).nonce.status, NonceStatus::Invalid);
  EXPECT_EQ(authenticator.verify(forged_nonce.view(), "REGISTER", {"pa55", {}}), Verdict::InvalidNonce);
  sign(forged_nonce, "guess");
  EXPECT_EQ(authenticator.verify(forged_nonce.view(), "REGISTER", {"pa55", {}}), Verdict::WrongResponse);
  // Nothing was recorded for nonces that are not ours.
  EXPECT_EQ(authenticator.tracked_nonces(), 0u);
}

TEST_F(DigestAuthenticatorTest, ChallengeForOneAlgorithmOnly) {
  auto values = authenticator.challenges(kRealm, true, DigestAlgorithm::Md5);
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(param_of(values[0], "algorithm"), "MD5");
  EXPECT_EQ(param_of(values[0], "stale"), "true");
}

TEST_F(DigestAuthenticatorTest, ConcurrentChallengesAndVerificationsFromManyThreads) {
  // The fixture's small nonce table (split over shards) could fill up here.
  DigestAuthenticator roomy{DigestAuthenticator::Options{
      {DigestAlgorithm::Sha256, DigestAlgorithm::Md5}, std::chrono::seconds(300), "s3cret", 100'000}};
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string challenge = roomy.challenges(kRealm, false)[(t + i) % 2];
        Answer a = answer(challenge, "pa55");
        if (roomy.verify(a.view(), "REGISTER", {"pa55", {}}) == Verdict::Ok) ++accepted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 800);
  EXPECT_EQ(roomy.tracked_nonces(), 800u);
}

TEST(DigestAuthenticatorConfig, AlgorithmNotOfferedIsRefused) {
  DigestAuthenticator sha_only(DigestAuthenticator::Options{{DigestAlgorithm::Sha256}, std::chrono::seconds(60), "k", 100});
  auto values = sha_only.challenges("r", false);
  ASSERT_EQ(values.size(), 1u);
  DigestCredentials md5{"u", "r", param_of(values[0], "nonce"), "sip:r", std::string(32, 'a'), "MD5",
                        "c", "00000001", "auth", {}};
  EXPECT_EQ(sha_only.precheck(md5).verdict, Verdict::UnsupportedAlgorithm);
  DigestCredentials implicit_md5 = md5;
  implicit_md5.algorithm = {};
  EXPECT_EQ(sha_only.precheck(implicit_md5).verdict, Verdict::UnsupportedAlgorithm);
}

}  // namespace
}  // namespace cppbx::auth
