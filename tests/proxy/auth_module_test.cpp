// The auth module end to end at the module boundary: requests parsed from
// text with sip::parse_message, a recording ServerTransaction double, real
// memory users plus scripted backends for errors and denials. Each test plays
// the client side too (computing digests from the challenge it received).
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "auth/digest.hpp"
#include "fake_server_transaction.hpp"
#include "proxy/auth_module.hpp"
#include "sip/headers.hpp"
#include "sip/parser.hpp"
#include "users/memory_backend.hpp"

namespace cppbx::proxy {
namespace {

using Recorded = testing::RecordedResponse;
using RecordingTransaction = testing::FakeServerTransaction;

// Answers every lookup with one result, inline or from another thread.
class ScriptedBackend final : public users::UserBackend {
 public:
  explicit ScriptedBackend(users::LookupResult answer, bool from_thread = false)
      : answer_(std::move(answer)), from_thread_(from_thread) {}
  std::string_view type() const override { return "scripted"; }
  void lookup(const users::LookupRequest&, users::LookupCallback done) override {
    ++lookups;
    if (!from_thread_) return done(answer_);
    std::thread([answer = answer_, done = std::move(done)] { done(answer); }).detach();
  }
  std::atomic<int> lookups{0};

 private:
  users::LookupResult answer_;
  bool from_thread_;
};

// The outcome of running one request through the module.
struct Outcome {
  std::shared_ptr<RecordingTransaction> transaction;
  RequestContextPtr context;
  bool next_called = false;
  std::optional<Recorded> response() const {
    auto all = transaction->responses();
    if (all.empty()) return std::nullopt;
    return all.back();
  }
};

std::string request_text(std::string_view method, std::string_view request_uri,
                         std::string_view to_uri, std::string_view extra_header, int cseq = 1) {
  std::string text;
  text += std::string(method) + " " + std::string(request_uri) + " SIP/2.0\r\n";
  text += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-" + std::to_string(cseq) + "x\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: <sip:alice@example.com>;tag=a1\r\n";
  text += "To: <" + std::string(to_uri) + ">\r\n";
  text += "Call-ID: call-1@192.0.2.10\r\n";
  text += "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n";
  if (method == "REGISTER") text += "Contact: <sip:alice@192.0.2.10:5060>\r\n";
  if (!extra_header.empty()) text += std::string(extra_header) + "\r\n";
  text += "Content-Length: 0\r\n\r\n";
  return text;
}

std::string param_of(std::string_view header_value, std::string_view name) {
  auto params = sip::parse_auth_params(header_value);
  if (!params) return {};
  return std::string(params->get(name).value_or(""));
}

// What a client answering `challenge` sends, as a whole header line.
std::string authorization(std::string_view header_name, std::string_view challenge,
                          std::string_view method, std::string_view user, std::string_view password,
                          std::string_view uri, std::string_view nc = "00000001") {
  std::string algorithm_text = param_of(challenge, "algorithm");
  auto algorithm = auth::parse_algorithm(algorithm_text).value();
  std::string realm = param_of(challenge, "realm");
  std::string nonce = param_of(challenge, "nonce");
  std::string ha1 = auth::compute_ha1(algorithm, user, realm, password);
  std::string response =
      auth::compute_response(algorithm, {ha1, nonce, method, uri, "auth", nc, "c0ffee"});
  return std::string(header_name) + ": Digest username=\"" + std::string(user) + "\", realm=\"" +
         realm + "\", nonce=\"" + nonce + "\", uri=\"" + std::string(uri) + "\", response=\"" +
         response + "\", algorithm=" + algorithm_text + ", cnonce=\"c0ffee\", qop=auth, nc=" +
         std::string(nc) + ", opaque=\"" + param_of(challenge, "opaque") + "\"";
}

users::SipUser make_user(std::string name, std::string password, bool enabled = true,
                         std::string realm = {}) {
  users::SipUser user;
  user.username = std::move(name);
  user.password = std::move(password);
  user.enabled = enabled;
  user.realm = std::move(realm);
  return user;
}

class AuthModuleTest : public ::testing::Test {
 protected:
  int64_t now = 1'700'000'000;
  config::ProxyConfig config;
  std::shared_ptr<users::UserBackend> backend = std::make_shared<users::MemoryBackend>(
      std::vector<users::SipUser>{make_user("alice", "wonderland"), make_user("bob", "builder", false),
                                  make_user("carol", "secret", true, "other.org")});
  std::shared_ptr<const ServerIdentity> identity = std::make_shared<ServerIdentity>(
      std::vector<std::string>{"example.com"}, std::vector<std::string>{"127.0.0.1"}, "cppbx");
  std::unique_ptr<AuthModule> module;
  std::string peer_address = "192.0.2.10";

  void make_module() {
    module = std::make_unique<AuthModule>(backend, identity, config, "test-secret",
                                          [this] { return now; });
  }
  void SetUp() override { make_module(); }

  Outcome run(const std::string& text) {
    auto parsed = sip::parse_message(text);
    EXPECT_EQ(parsed.status, sip::ParseStatus::Ok) << parsed.reason << "\n" << text;
    Outcome outcome;
    outcome.transaction =
        std::make_shared<RecordingTransaction>(std::move(*parsed.message), peer_address);
    outcome.context = std::make_shared<RequestContext>();
    outcome.context->transaction = outcome.transaction;
    module->handle(outcome.context, [&outcome](RequestContextPtr) { outcome.next_called = true; });
    return outcome;
  }

  // REGISTER without credentials; returns the challenge for `algorithm`.
  std::string register_challenge(std::string_view algorithm = "SHA-256") {
    auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", ""));
    auto response = outcome.response();
    EXPECT_TRUE(response);
    if (!response) return {};
    for (const std::string& value : response->values("WWW-Authenticate")) {
      if (param_of(value, "algorithm") == algorithm) return value;
    }
    ADD_FAILURE() << "no " << algorithm << " challenge";
    return {};
  }

  Outcome register_as(std::string_view user, std::string_view password,
                      std::string_view algorithm = "SHA-256") {
    std::string challenge = register_challenge(algorithm);
    return run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com",
                            authorization("Authorization", challenge, "REGISTER", user, password,
                                          "sip:example.com"),
                            2));
  }
};

TEST_F(AuthModuleTest, RegisterWithoutCredentialsGetsBothChallengesSha256First) {
  auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", ""));
  EXPECT_FALSE(outcome.next_called);
  auto response = outcome.response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->code, 401);
  EXPECT_TRUE(response->stateless);  // a challenge holds no transaction state
  auto challenges = response->values("WWW-Authenticate");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(param_of(challenges[0], "algorithm"), "SHA-256");
  EXPECT_EQ(param_of(challenges[1], "algorithm"), "MD5");
  for (const auto& challenge : challenges) {
    EXPECT_EQ(param_of(challenge, "realm"), "example.com");
    EXPECT_EQ(param_of(challenge, "qop"), "auth");
    EXPECT_FALSE(param_of(challenge, "nonce").empty());
    EXPECT_FALSE(param_of(challenge, "opaque").empty());
    EXPECT_EQ(param_of(challenge, "stale"), "");
  }
  EXPECT_EQ(outcome.context->realm, "example.com");
}

TEST_F(AuthModuleTest, ConfiguredAlgorithmOrderIsFollowed) {
  config.auth_algorithms = {"MD5"};
  make_module();
  auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", ""));
  auto challenges = outcome.response()->values("WWW-Authenticate");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(param_of(challenges[0], "algorithm"), "MD5");
}

TEST_F(AuthModuleTest, NoUserLookupBeforeCredentials) {
  auto scripted = std::make_shared<ScriptedBackend>(users::LookupResult::not_found());
  backend = scripted;
  make_module();
  run(request_text("REGISTER", "sip:example.com", "sip:nobody@example.com", ""));
  run(request_text("INVITE", "sip:bob@example.com", "sip:bob@example.com", ""));
  EXPECT_EQ(scripted->lookups, 0);
}

TEST_F(AuthModuleTest, CorrectMd5CredentialsPassWithTheUser) {
  auto outcome = register_as("alice", "wonderland", "MD5");
  EXPECT_TRUE(outcome.next_called);
  EXPECT_TRUE(outcome.transaction->responses().empty());
  ASSERT_TRUE(outcome.context->authenticated_user);
  EXPECT_EQ(outcome.context->authenticated_user->username, "alice");
}

TEST_F(AuthModuleTest, CorrectSha256CredentialsPass) {
  auto outcome = register_as("alice", "wonderland", "SHA-256");
  EXPECT_TRUE(outcome.next_called);
  ASSERT_TRUE(outcome.context->authenticated_user);
  EXPECT_EQ(outcome.context->authenticated_user->username, "alice");
}

TEST_F(AuthModuleTest, DigestUriMustNameTheRequestUri) {
  std::string challenge = register_challenge("SHA-256");
  auto elsewhere = run(request_text(
      "REGISTER", "sip:example.com", "sip:alice@example.com",
      authorization("Authorization", challenge, "REGISTER", "alice", "wonderland",
                    "sip:totally-different.example"),
      2));
  EXPECT_FALSE(elsewhere.next_called);
  ASSERT_TRUE(elsewhere.response());
  EXPECT_EQ(elsewhere.response()->code, 400);

  // Same target written differently (case of the host, parameters) is fine.
  challenge = register_challenge("SHA-256");
  auto same = run(request_text(
      "REGISTER", "sip:example.com", "sip:alice@example.com",
      authorization("Authorization", challenge, "REGISTER", "alice", "wonderland",
                    "sip:EXAMPLE.com;transport=udp"),
      3));
  EXPECT_TRUE(same.next_called);
}

TEST_F(AuthModuleTest, AnswerWithoutQopIsRechallengedNotAccepted) {
  std::string challenge = register_challenge("MD5");
  std::string realm = param_of(challenge, "realm");
  std::string nonce = param_of(challenge, "nonce");
  std::string ha1 = auth::compute_ha1(auth::DigestAlgorithm::Md5, "alice", realm, "wonderland");
  std::string response = auth::compute_response(
      auth::DigestAlgorithm::Md5, {ha1, nonce, "REGISTER", "sip:example.com", "", "", ""});
  std::string header = "Authorization: Digest username=\"alice\", realm=\"" + realm +
                       "\", nonce=\"" + nonce + "\", uri=\"sip:example.com\", response=\"" +
                       response + "\"";
  auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2));
  EXPECT_FALSE(outcome.next_called);
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 401);
}

TEST_F(AuthModuleTest, WrongPasswordAndUnknownUserLookIdentical) {
  auto wrong = register_as("alice", "guess");
  auto unknown = register_as("mallory", "guess");
  auto other_realm = register_as("carol", "secret");  // carol is a user of other.org
  EXPECT_FALSE(wrong.next_called);
  EXPECT_FALSE(unknown.next_called);
  EXPECT_FALSE(other_realm.next_called);
  ASSERT_TRUE(wrong.response() && unknown.response() && other_realm.response());
  EXPECT_EQ(wrong.response()->code, 403);
  EXPECT_EQ(unknown.response()->code, wrong.response()->code);
  EXPECT_EQ(unknown.response()->reason, wrong.response()->reason);
  EXPECT_EQ(unknown.response()->headers, wrong.response()->headers);
  EXPECT_EQ(other_realm.response()->code, 403);
  EXPECT_EQ(other_realm.response()->headers, wrong.response()->headers);
}

TEST_F(AuthModuleTest, EnsureUserDropsFailedCredentialsSilently) {
  config.ensure_user = true;
  make_module();
  auto wrong = register_as("alice", "guess");
  auto unknown = register_as("mallory", "guess");
  EXPECT_TRUE(wrong.transaction->dropped());
  EXPECT_TRUE(unknown.transaction->dropped());
  EXPECT_TRUE(wrong.transaction->responses().empty());
  EXPECT_TRUE(unknown.transaction->responses().empty());
  EXPECT_FALSE(wrong.next_called || unknown.next_called);
  // The right password still works.
  EXPECT_TRUE(register_as("alice", "wonderland").next_called);
}

TEST_F(AuthModuleTest, DisabledUserIsForbiddenEvenWithTheRightPassword) {
  auto outcome = register_as("bob", "builder");
  EXPECT_FALSE(outcome.next_called);
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 403);
  EXPECT_FALSE(outcome.transaction->dropped());
}

TEST_F(AuthModuleTest, BackendErrorIs503WithRetryAfterNever403) {
  backend = std::make_shared<ScriptedBackend>(users::LookupResult::error("db down"));
  config.ensure_user = true;
  make_module();
  auto outcome = register_as("alice", "wonderland");
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 503);
  EXPECT_EQ(outcome.response()->values("Retry-After"), std::vector<std::string>{"5"});
  EXPECT_FALSE(outcome.transaction->dropped());
}

TEST_F(AuthModuleTest, DeniedUsesTheBackendCode) {
  backend = std::make_shared<ScriptedBackend>(users::LookupResult::denied(402, "payment_required"));
  make_module();
  auto outcome = register_as("alice", "wonderland");
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 402);
}

TEST_F(AuthModuleTest, StaleNonceIsRechallengedWithStaleTrue) {
  std::string challenge = register_challenge();
  now += config.nonce_lifetime_seconds + 1;
  auto outcome = run(request_text(
      "REGISTER", "sip:example.com", "sip:alice@example.com",
      authorization("Authorization", challenge, "REGISTER", "alice", "wonderland", "sip:example.com"), 2));
  EXPECT_FALSE(outcome.next_called);
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 401);
  auto challenges = outcome.response()->values("WWW-Authenticate");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(param_of(challenges[0], "stale"), "true");
  EXPECT_NE(param_of(challenges[0], "nonce"), param_of(challenge, "nonce"));
}

TEST_F(AuthModuleTest, StaleNonceWithWrongPasswordIsForbidden) {
  std::string challenge = register_challenge();
  now += config.nonce_lifetime_seconds + 1;
  auto outcome = run(request_text(
      "REGISTER", "sip:example.com", "sip:alice@example.com",
      authorization("Authorization", challenge, "REGISTER", "alice", "guess", "sip:example.com"), 2));
  EXPECT_EQ(outcome.response()->code, 403);
}

TEST_F(AuthModuleTest, ReplayedNonceCountIsRechallenged) {
  std::string challenge = register_challenge();
  std::string header =
      authorization("Authorization", challenge, "REGISTER", "alice", "wonderland", "sip:example.com");
  EXPECT_TRUE(run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2)).next_called);
  auto replay = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 3));
  EXPECT_FALSE(replay.next_called);
  ASSERT_TRUE(replay.response());
  EXPECT_EQ(replay.response()->code, 401);
  EXPECT_EQ(param_of(replay.response()->values("WWW-Authenticate")[0], "stale"), "true");
  // The next count on the same nonce is fine (a refresh reusing the nonce).
  std::string next_count = authorization("Authorization", challenge, "REGISTER", "alice", "wonderland",
                                         "sip:example.com", "00000002");
  EXPECT_TRUE(run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", next_count, 4)).next_called);
}

TEST_F(AuthModuleTest, NonceFromAnotherServerIsRechallengedWhenThePasswordIsRight) {
  AuthModule other(backend, identity, config, "other-secret");
  auto parsed = sip::parse_message(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", ""));
  auto foreign_transaction = std::make_shared<RecordingTransaction>(std::move(*parsed.message));
  auto context = std::make_shared<RequestContext>();
  context->transaction = foreign_transaction;
  other.handle(context, [](RequestContextPtr) {});
  std::string foreign = foreign_transaction->responses().at(0).values("WWW-Authenticate").at(0);
  auto outcome = run(request_text(
      "REGISTER", "sip:example.com", "sip:alice@example.com",
      authorization("Authorization", foreign, "REGISTER", "alice", "wonderland", "sip:example.com"), 2));
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 401);
  EXPECT_EQ(param_of(outcome.response()->values("WWW-Authenticate")[0], "stale"), "true");
}

TEST_F(AuthModuleTest, InviteIsChallengedWith407AndUsesProxyAuthorization) {
  auto first = run(request_text("INVITE", "sip:bob@example.com", "sip:bob@example.com", ""));
  ASSERT_TRUE(first.response());
  EXPECT_EQ(first.response()->code, 407);
  auto challenges = first.response()->values("Proxy-Authenticate");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_TRUE(first.response()->values("WWW-Authenticate").empty());

  // Credentials in the wrong header do not count: challenged again.
  std::string in_wrong_header = authorization("Authorization", challenges[0], "INVITE", "alice",
                                              "wonderland", "sip:bob@example.com");
  auto wrong_header = run(request_text("INVITE", "sip:bob@example.com", "sip:bob@example.com", in_wrong_header, 2));
  EXPECT_EQ(wrong_header.response()->code, 407);

  std::string header = authorization("Proxy-Authorization", challenges[0], "INVITE", "alice",
                                     "wonderland", "sip:bob@example.com");
  auto second = run(request_text("INVITE", "sip:bob@example.com", "sip:bob@example.com", header, 3));
  EXPECT_TRUE(second.next_called);
  EXPECT_EQ(second.context->authenticated_user->username, "alice");
}

TEST_F(AuthModuleTest, AckCancelAndOptionsToTheServerPassUnchallenged) {
  EXPECT_TRUE(run(request_text("ACK", "sip:bob@example.com", "sip:bob@example.com", "")).next_called);
  EXPECT_TRUE(run(request_text("CANCEL", "sip:bob@example.com", "sip:bob@example.com", "")).next_called);
  EXPECT_TRUE(run(request_text("OPTIONS", "sip:example.com", "sip:example.com", "")).next_called);
  auto to_user = run(request_text("OPTIONS", "sip:bob@example.com", "sip:bob@example.com", ""));
  EXPECT_FALSE(to_user.next_called);
  EXPECT_EQ(to_user.response()->code, 407);
}

TEST_F(AuthModuleTest, CredentialsForAnotherRealmAreIgnored) {
  std::string challenge = register_challenge();
  std::string header =
      authorization("Authorization", challenge, "REGISTER", "alice", "wonderland", "sip:example.com");
  size_t at = header.find("realm=\"example.com\"");
  header.replace(at, 19, "realm=\"elsewhere.net\"");
  auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2));
  EXPECT_FALSE(outcome.next_called);
  EXPECT_EQ(outcome.response()->code, 401);
  EXPECT_EQ(param_of(outcome.response()->values("WWW-Authenticate")[0], "stale"), "");
}

TEST_F(AuthModuleTest, MalformedCredentialsGet400AndUnsupportedAlgorithmARechallenge) {
  auto missing_response = run(request_text(
      "REGISTER", "sip:example.com", "sip:alice@example.com",
      "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:example.com\"", 2));
  EXPECT_EQ(missing_response.response()->code, 400);
  std::string challenge = register_challenge();
  std::string header =
      authorization("Authorization", challenge, "REGISTER", "alice", "wonderland", "sip:example.com");
  header.replace(header.find("algorithm=SHA-256"), 17, "algorithm=SHA-1");
  auto unsupported = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 3));
  EXPECT_EQ(unsupported.response()->code, 401);
}

TEST_F(AuthModuleTest, StoredMd5Ha1UserIsOfferedMd5WhenAnsweringSha256) {
  users::SipUser dave;
  dave.username = "dave";
  dave.ha1_md5 = auth::compute_ha1(auth::DigestAlgorithm::Md5, "dave", "example.com", "pw");
  backend = std::make_shared<users::MemoryBackend>(std::vector<users::SipUser>{dave});
  make_module();
  auto sha = register_as("dave", "pw", "SHA-256");
  ASSERT_TRUE(sha.response());
  EXPECT_EQ(sha.response()->code, 401);
  auto offered = sha.response()->values("WWW-Authenticate");
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(param_of(offered[0], "algorithm"), "MD5");
  EXPECT_TRUE(register_as("dave", "pw", "MD5").next_called);
}

// With a database backend that has an ha1_column, a failed SHA-256 answer
// from an unknown user, a user of another realm or a wrong password gets the
// same MD5 re-challenge as an HA1-only user, so existence does not show.
class Ha1ChainTest : public AuthModuleTest {
 protected:
  void SetUp() override {
    users::SipUser dave;
    dave.username = "dave";
    dave.ha1_md5 = auth::compute_ha1(auth::DigestAlgorithm::Md5, "dave", "example.com", "pw");
    backend = std::make_shared<users::MemoryBackend>(std::vector<users::SipUser>{
        dave, make_user("alice", "wonderland"), make_user("carol", "secret", true, "other.org")});
    config::UserBackendConfig database;
    database.type = "database";
    database.table = toml::table{{"type", "database"}, {"ha1_column", "ha1"}};
    config.user_backends.push_back(database);
    make_module();
  }
  // The shape of a response, without its nonce (new for every challenge).
  static std::vector<std::string> shape(const Recorded& response) {
    std::vector<std::string> parts = {std::to_string(response.code), response.reason};
    for (const std::string& value : response.values("WWW-Authenticate")) {
      parts.push_back(param_of(value, "algorithm") + "/" + param_of(value, "realm") + "/" +
                      param_of(value, "stale"));
    }
    return parts;
  }
};

TEST_F(Ha1ChainTest, FailedSha256AnswersAllGetTheHa1UsersMd5Rechallenge) {
  // Separate clients: a narrowed client is offered MD5 alone from then on.
  peer_address = "192.0.2.11";
  auto ha1_user = register_as("dave", "pw", "SHA-256");
  peer_address = "192.0.2.12";
  auto unknown = register_as("mallory", "guess", "SHA-256");
  peer_address = "192.0.2.13";
  auto wrong = register_as("alice", "guess", "SHA-256");
  peer_address = "192.0.2.14";
  auto other_realm = register_as("carol", "secret", "SHA-256");
  for (const Outcome* outcome : {&ha1_user, &unknown, &wrong, &other_realm}) {
    ASSERT_TRUE(outcome->response());
    EXPECT_FALSE(outcome->next_called);
  }
  EXPECT_EQ(ha1_user.response()->code, 401);
  auto offered = ha1_user.response()->values("WWW-Authenticate");
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(param_of(offered[0], "algorithm"), "MD5");
  EXPECT_EQ(shape(*unknown.response()), shape(*ha1_user.response()));
  EXPECT_EQ(shape(*wrong.response()), shape(*ha1_user.response()));
  EXPECT_EQ(shape(*other_realm.response()), shape(*ha1_user.response()));
}

TEST_F(Ha1ChainTest, TheMd5AnswerDecidesAndItsRefusalsLookAlike) {
  EXPECT_TRUE(register_as("dave", "pw", "MD5").next_called);
  EXPECT_TRUE(register_as("alice", "wonderland", "SHA-256").next_called);  // passwords still do
  auto wrong_ha1 = register_as("dave", "nope", "MD5");
  auto unknown = register_as("mallory", "guess", "MD5");
  ASSERT_TRUE(wrong_ha1.response() && unknown.response());
  EXPECT_EQ(wrong_ha1.response()->code, 403);
  EXPECT_EQ(unknown.response()->code, 403);
  EXPECT_EQ(unknown.response()->headers, wrong_ha1.response()->headers);
}

TEST_F(AuthModuleTest, WithoutHa1ColumnsUnknownSha256UsersAreRefusedAtOnce) {
  config::UserBackendConfig database;
  database.type = "database";
  database.table = toml::table{{"type", "database"}};
  config.user_backends.push_back(database);
  make_module();
  auto unknown = register_as("mallory", "guess", "SHA-256");
  ASSERT_TRUE(unknown.response());
  EXPECT_EQ(unknown.response()->code, 403);
}

TEST_F(AuthModuleTest, AsynchronousBackendAnswerResumesThePipeline) {
  backend = std::make_shared<ScriptedBackend>(users::LookupResult::found(make_user("alice", "wonderland")), true);
  make_module();
  std::string challenge = register_challenge();
  auto parsed = sip::parse_message(request_text(
      "REGISTER", "sip:example.com", "sip:alice@example.com",
      authorization("Authorization", challenge, "REGISTER", "alice", "wonderland", "sip:example.com"), 2));
  auto transaction = std::make_shared<RecordingTransaction>(std::move(*parsed.message));
  auto context = std::make_shared<RequestContext>();
  context->transaction = transaction;
  std::promise<std::string> passed;
  module->handle(context, [&passed](RequestContextPtr ctx) {
    passed.set_value(ctx->authenticated_user ? ctx->authenticated_user->username : "");
  });
  auto future = passed.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get(), "alice");
}

// ---------------------------------------------------------------------------
// Per-client offer: MD5 alone for listed User-Agents and for clients that
// could not answer the full offer; credentials without `algorithm` mean MD5.

constexpr std::string_view kOldBaresip = "User-Agent: baresip v1.0.0 (x86_64/Linux)";

std::string with_call_id(std::string text, std::string_view call_id) {
  const std::string old_line = "Call-ID: call-1@192.0.2.10";
  text.replace(text.find(old_line), old_line.size(), "Call-ID: " + std::string(call_id));
  return text;
}

std::string joined(std::initializer_list<std::string_view> lines) {
  std::string text;
  for (std::string_view line : lines) {
    if (line.empty()) continue;
    if (!text.empty()) text += "\r\n";
    text += line;
  }
  return text;
}

std::vector<std::string> algorithms_of(const std::vector<std::string>& challenges) {
  std::vector<std::string> names;
  for (const auto& challenge : challenges) names.push_back(param_of(challenge, "algorithm"));
  return names;
}

const std::vector<std::string> kFull = {"SHA-256", "MD5"};
const std::vector<std::string> kMd5 = {"MD5"};

class AuthOfferTest : public AuthModuleTest {
 protected:
  // A REGISTER without credentials; the algorithms of the 401's challenges.
  std::vector<std::string> offered_to(std::string_view extra = "",
                                      std::string_view call_id = "call-1@192.0.2.10",
                                      int cseq = 1) {
    auto outcome = run(with_call_id(
        request_text("REGISTER", "sip:example.com", "sip:alice@example.com", extra, cseq),
        call_id));
    auto response = outcome.response();
    EXPECT_TRUE(response && response->code == 401);
    if (!response) return {};
    last_challenges = response->values("WWW-Authenticate");
    return algorithms_of(last_challenges);
  }
  std::string last_challenge(std::string_view algorithm) const {
    for (const auto& value : last_challenges) {
      if (param_of(value, "algorithm") == algorithm) return value;
    }
    return {};
  }
  Outcome answer(std::string_view algorithm, std::string_view extra = "", int cseq = 2) {
    std::string header = authorization("Authorization", last_challenge(algorithm), "REGISTER",
                                       "alice", "wonderland", "sip:example.com");
    return run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com",
                            joined({extra, header}), cseq));
  }
  std::vector<std::string> last_challenges;

  // Requests that follow come from another address: another client, so
  // what the fallback remembers about earlier ones does not apply.
  void another_client() { peer_address = "203.0.113." + std::to_string(++clients_); }
  int clients_ = 0;
};

TEST_F(AuthOfferTest, OldBaresipIsChallengedWithMd5AloneAndRegisters) {
  EXPECT_EQ(offered_to(kOldBaresip), kMd5);
  auto accepted = answer("MD5", kOldBaresip);
  EXPECT_TRUE(accepted.next_called);
  ASSERT_TRUE(accepted.context->authenticated_user);
  EXPECT_EQ(accepted.context->authenticated_user->username, "alice");
}

TEST_F(AuthOfferTest, DefaultListCoversOldPjsipAndMicroSipButNotNewerVersions) {
  EXPECT_EQ(offered_to("User-Agent: PJSUA v2.10 Linux-5.10/x86_64/glibc-2.31", "c1"), kMd5);
  EXPECT_EQ(offered_to("User-Agent: MicroSIP/3.21.3", "c2"), kMd5);
  EXPECT_EQ(offered_to("User-Agent: baresip v3.14.0 (x86_64/Linux)", "c3"), kFull);
  another_client();
  EXPECT_EQ(offered_to("User-Agent: PJSUA v2.14.1 Linux", "c4"), kFull);
  another_client();
  EXPECT_EQ(offered_to("User-Agent: Linphone/5.1.2 (belle-sip/5.1.0)", "c5"), kFull);
  another_client();
  EXPECT_EQ(offered_to("", "c6"), kFull);
}

TEST_F(AuthOfferTest, InviteFromAListedClientGetsOneMd5ProxyChallenge) {
  auto outcome = run(request_text("INVITE", "sip:bob@example.com", "sip:bob@example.com",
                                  "User-Agent: MicroSIP/3.19.0"));
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 407);
  EXPECT_EQ(algorithms_of(outcome.response()->values("Proxy-Authenticate")), kMd5);
}

TEST_F(AuthOfferTest, ConfiguredListReplacesTheDefaultAndEmptyTurnsItOff) {
  config.auth_md5_only_user_agents = {"OldPhone<2"};
  make_module();
  EXPECT_EQ(offered_to("User-Agent: oldphone/1.9", "c1"), kMd5);
  EXPECT_EQ(offered_to("User-Agent: OldPhone/2.0", "c2"), kFull);
  another_client();
  EXPECT_EQ(offered_to(kOldBaresip, "c3"), kFull);
  config.auth_md5_only_user_agents.clear();
  config.auth_md5_fallback = false;
  make_module();
  EXPECT_EQ(offered_to(kOldBaresip, "c4"), kFull);
}

TEST_F(AuthOfferTest, NothingIsNarrowedWhenTheOfferHasNoMd5OrOnlyMd5) {
  config.auth_algorithms = {"SHA-256"};
  make_module();
  EXPECT_EQ(offered_to(kOldBaresip), std::vector<std::string>{"SHA-256"});
  EXPECT_EQ(offered_to(kOldBaresip), std::vector<std::string>{"SHA-256"});  // unanswered
  config.auth_algorithms = {"SHA-512-256", "SHA-256", "MD5"};
  make_module();
  EXPECT_EQ(offered_to(kOldBaresip, "c2"), kMd5);
}

TEST_F(AuthOfferTest, ListedClientWithStaleNonceIsRechallengedWithMd5Alone) {
  offered_to(kOldBaresip);
  now += config.nonce_lifetime_seconds + 1;
  auto stale = answer("MD5", kOldBaresip);
  ASSERT_TRUE(stale.response());
  EXPECT_EQ(stale.response()->code, 401);
  auto challenges = stale.response()->values("WWW-Authenticate");
  EXPECT_EQ(algorithms_of(challenges), kMd5);
  EXPECT_EQ(param_of(challenges.at(0), "stale"), "true");
}

TEST_F(AuthOfferTest, TheOfferIsDecidedWithoutLookingAnyoneUp) {
  auto scripted = std::make_shared<ScriptedBackend>(users::LookupResult::not_found());
  backend = scripted;
  make_module();
  EXPECT_EQ(offered_to(kOldBaresip, "c1"), kMd5);
  EXPECT_EQ(offered_to("", "c2"), kFull);
  EXPECT_EQ(offered_to("", "c2"), kMd5);  // unanswered
  EXPECT_EQ(scripted->lookups, 0);
}

TEST_F(AuthOfferTest, ClientThatComesBackWithoutAnsweringGetsMd5AloneFromThenOn) {
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 1), kFull);
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 2), kMd5);
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 3), kMd5);
  EXPECT_TRUE(answer("MD5", "", 4).next_called);
  // A refresh an hour minus a second later is still narrowed (and renewed).
  now += 3599;
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 5), kMd5);
  now += 3600;
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 6), kFull) << "entries expire after an hour";
}

TEST_F(AuthOfferTest, RestartWithANewCallIdIsRecognisedByUserAndDevice) {
  EXPECT_EQ(offered_to("", "first-run"), kFull);
  EXPECT_EQ(offered_to("", "second-run"), kMd5);
}

TEST_F(AuthOfferTest, OtherAddressOrOtherDeviceKeepsTheFullOffer) {
  EXPECT_EQ(offered_to("", "call-a"), kFull);
  peer_address = "192.0.2.77";
  EXPECT_EQ(offered_to("", "call-a"), kFull) << "same Call-ID from elsewhere";
  peer_address = "192.0.2.10";
  // Same account and public address, but another device (its own Contact).
  std::string text = with_call_id(
      request_text("REGISTER", "sip:example.com", "sip:alice@example.com", "", 1), "call-c");
  text.replace(text.find("alice@192.0.2.10:5060"), 21, "alice@10.0.0.8:5062");
  auto other_device = run(text);
  ASSERT_TRUE(other_device.response());
  EXPECT_EQ(algorithms_of(other_device.response()->values("WWW-Authenticate")), kFull);
}

TEST_F(AuthOfferTest, ClientThatAnswersKeepsTheFullOfferOnItsNextChallenge) {
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 1), kFull);
  EXPECT_TRUE(answer("SHA-256", "", 2).next_called);
  // Refreshes that start without credentials are challenged in full again.
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 3), kFull);
  EXPECT_TRUE(answer("MD5", "", 4).next_called);  // choosing MD5 from a full offer is fine too
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 5), kFull);
}

TEST_F(AuthOfferTest, WrongPasswordStillCountsAsAnAnswer) {
  offered_to();
  std::string header = authorization("Authorization", last_challenge("SHA-256"), "REGISTER",
                                     "alice", "guess", "sip:example.com");
  auto refused = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2));
  EXPECT_EQ(refused.response()->code, 403);
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 3), kFull);
}

TEST_F(AuthOfferTest, AnswerWithAnAlgorithmWeDidNotOfferNarrowsAtOnce) {
  offered_to();
  std::string header = authorization("Authorization", last_challenge("SHA-256"), "REGISTER",
                                     "alice", "wonderland", "sip:example.com");
  header.replace(header.find("algorithm=SHA-256"), 17, "algorithm=SHA-512-256");
  auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2));
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 401);
  EXPECT_EQ(algorithms_of(outcome.response()->values("WWW-Authenticate")), kMd5);
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 3), kMd5);
}

TEST_F(AuthOfferTest, CredentialsForAnotherRealmCountAsNotAnswering) {
  offered_to();
  std::string header = authorization("Authorization", last_challenge("SHA-256"), "REGISTER",
                                     "alice", "wonderland", "sip:example.com");
  header.replace(header.find("realm=\"example.com\""), 19, "realm=\"elsewhere.net\"");
  auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2));
  EXPECT_EQ(algorithms_of(outcome.response()->values("WWW-Authenticate")), kMd5);
}

TEST_F(AuthOfferTest, StoredMd5Ha1IsRememberedForTheNextChallenges) {
  users::SipUser dave;
  dave.username = "alice";
  dave.ha1_md5 = auth::compute_ha1(auth::DigestAlgorithm::Md5, "alice", "example.com", "wonderland");
  backend = std::make_shared<users::MemoryBackend>(std::vector<users::SipUser>{dave});
  make_module();
  offered_to();
  auto cannot_verify = answer("SHA-256");
  EXPECT_EQ(algorithms_of(cannot_verify.response()->values("WWW-Authenticate")), kMd5);
  EXPECT_EQ(offered_to("", "call-1@192.0.2.10", 3), kMd5);
}

TEST_F(AuthOfferTest, AdaptiveFallbackCanBeTurnedOff) {
  config.auth_md5_fallback = false;
  make_module();
  EXPECT_EQ(offered_to(), kFull);
  EXPECT_EQ(offered_to(), kFull);
  EXPECT_EQ(offered_to(kOldBaresip), kMd5) << "the User-Agent list still applies";
}

TEST_F(AuthOfferTest, FloodOfUnansweredChallengesStaysBounded) {
  // Each source sends one REGISTER and never answers: a pending entry each.
  for (int i = 0; i < 3000; ++i) {
    peer_address = "198.51." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    EXPECT_EQ(offered_to("", "flood-" + std::to_string(i)).size(), 2u);
  }
  // Nothing about this module's memory is public; the bound is checked in
  // tests/auth/md5_fallback_test.cpp. Here: an honest client is unaffected.
  peer_address = "192.0.2.10";
  EXPECT_EQ(offered_to("", "honest"), kFull);
}

TEST_F(AuthOfferTest, CredentialsWithoutAlgorithmMeanMd5AndUseTheSharedNonce) {
  offered_to();
  std::string sha = last_challenge("SHA-256");
  std::string md5 = last_challenge("MD5");
  ASSERT_EQ(param_of(sha, "nonce"), param_of(md5, "nonce")) << "one nonce for every algorithm";
  std::string header = authorization("Authorization", md5, "REGISTER", "alice", "wonderland",
                                     "sip:example.com");
  header.replace(header.find(", algorithm=MD5"), 15, "");
  ASSERT_EQ(header.find("algorithm"), std::string::npos);
  auto accepted = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2));
  EXPECT_TRUE(accepted.next_called);
  ASSERT_TRUE(accepted.context->authenticated_user);
  EXPECT_EQ(accepted.context->authenticated_user->username, "alice");
}

TEST_F(AuthOfferTest, CredentialsWithoutAlgorithmAreNotAcceptedWhenMd5IsNotOffered) {
  config.auth_algorithms = {"SHA-256"};
  make_module();
  offered_to();
  // An MD5 response computed on our SHA-256 nonce, without algorithm.
  std::string challenge = last_challenge("SHA-256");
  std::string nonce = param_of(challenge, "nonce");
  std::string ha1 = auth::compute_ha1(auth::DigestAlgorithm::Md5, "alice", "example.com", "wonderland");
  std::string response = auth::compute_response(
      auth::DigestAlgorithm::Md5, {ha1, nonce, "REGISTER", "sip:example.com", "auth", "00000001", "c0ffee"});
  std::string header = "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"" +
                       nonce + "\", uri=\"sip:example.com\", response=\"" + response +
                       "\", cnonce=\"c0ffee\", qop=auth, nc=00000001";
  auto outcome = run(request_text("REGISTER", "sip:example.com", "sip:alice@example.com", header, 2));
  EXPECT_FALSE(outcome.next_called);
  ASSERT_TRUE(outcome.response());
  EXPECT_EQ(outcome.response()->code, 401);
  EXPECT_EQ(algorithms_of(outcome.response()->values("WWW-Authenticate")),
            std::vector<std::string>{"SHA-256"});
}

}  // namespace
}  // namespace cppbx::proxy
