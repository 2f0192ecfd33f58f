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
#include "proxy/auth_module.hpp"
#include "sip/headers.hpp"
#include "sip/parser.hpp"
#include "users/memory_backend.hpp"

namespace cppbx::proxy {
namespace {

struct Recorded {
  int code = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers) {
      if (n == name) out.push_back(v);
    }
    return out;
  }
};

// Records what the module answers; thread-safe like the real one.
class RecordingTransaction final : public transaction::ServerTransaction {
 public:
  explicit RecordingTransaction(sip::Message request) : request_(std::move(request)) {
    peer_.address = boost::asio::ip::make_address("192.0.2.10");
    peer_.port = 5060;
  }
  const sip::Message& request() const override { return request_; }
  const transport::Peer& peer() const override { return peer_; }
  const transport::LocalEndpoint& local() const override { return local_; }
  bool respond(const sip::ResponseSpec& spec) override {
    std::lock_guard lock(mutex_);
    if (completed_) return false;
    Recorded r{spec.code, std::string(spec.reason), {}};
    for (const auto& [name, value] : spec.headers) r.headers.emplace_back(name, value);
    responses_.push_back(std::move(r));
    completed_ = spec.code >= 200;
    return true;
  }
  bool respond_raw(std::string, int status_code) override {
    std::lock_guard lock(mutex_);
    responses_.push_back({status_code, "raw", {}});
    completed_ = true;
    return true;
  }
  void drop() override {
    std::lock_guard lock(mutex_);
    dropped_ = true;
    completed_ = true;
  }
  bool completed() const override {
    std::lock_guard lock(mutex_);
    return completed_;
  }
  std::string_view local_tag() const override { return "auth-test"; }

  std::vector<Recorded> responses() const {
    std::lock_guard lock(mutex_);
    return responses_;
  }
  bool dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

 private:
  sip::Message request_;
  transport::Peer peer_;
  transport::LocalEndpoint local_;
  mutable std::mutex mutex_;
  std::vector<Recorded> responses_;
  bool completed_ = false;
  bool dropped_ = false;
};

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

  void make_module() {
    module = std::make_unique<AuthModule>(backend, identity, config, "test-secret",
                                          [this] { return now; });
  }
  void SetUp() override { make_module(); }

  Outcome run(const std::string& text) {
    auto parsed = sip::parse_message(text);
    EXPECT_EQ(parsed.status, sip::ParseStatus::Ok) << parsed.reason << "\n" << text;
    Outcome outcome;
    outcome.transaction = std::make_shared<RecordingTransaction>(std::move(*parsed.message));
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

}  // namespace
}  // namespace cppbx::proxy
