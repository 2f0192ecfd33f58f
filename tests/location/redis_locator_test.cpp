// RedisLocator against a real redis-server started by the test (a free
// loopback port, a temporary folder, no persistence): what only the redis
// locator does (the registration rules it shares with every locator run in
// locator_conformance_test.cpp): every field and its Redis keys, keys
// removed and expiring with their bindings, expiry done by Redis itself, bindings
// shared between two nodes with their home_proxy, a lookup in one round
// trip (counted with MONITOR), passwords, and outages (Redis stopped, Redis
// hanging) answered with errors within the timeout and recovered from
// without a new locator. Each test uses its own key prefix on the shared
// server, so tests do not see each other's keys.
#include "locator_conformance.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "support/redis_server.hpp"

namespace cppbx::location::conformance {
namespace {

using namespace std::chrono_literals;
using cppbx::testing::RedisServer;

const std::string kNodeA = "sip:192.0.2.100:5060";
const std::string kNodeB = "sip:192.0.2.200:5060";

// A binding with the details a phone's REGISTER gives, to see them stored.
Binding phone_binding(std::string contact) {
  Binding binding = make_binding(std::move(contact));
  binding.destination = "udp:192.0.2.1:5060";
  binding.user_agent = "test-phone/1.0";
  binding.path = {"<sip:edge.example.com;lr>"};
  return binding;
}

class RedisLocatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!RedisServer::available()) return;
    server_ = new RedisServer();
    std::string error;
    if (!server_->start(error)) {
      start_error_ = error;
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::missing_message();
    ASSERT_NE(server_, nullptr) << "redis-server did not start: " << start_error_;
    prefix_ = "t" + std::to_string(++counter_) + ":";
    admin_ = std::make_unique<RedisConnection>(*endpoint_of(server_->url()), 2s);
  }

  RedisLocatorOptions options(const std::string& home = kNodeA) const {
    RedisLocatorOptions options;
    options.endpoint = *endpoint_of(server_->url());
    options.key_prefix = prefix_;
    options.home_proxy = home;
    options.max_bindings_per_aor = 3;
    options.pool_size = 2;
    return options;
  }

  bool key_exists(const std::string& name) {
    return admin_->command({"EXISTS", name})->integer == 1;
  }

  static inline RedisServer* server_ = nullptr;
  static inline std::string start_error_;
  static inline int counter_ = 0;
  std::string prefix_;
  std::unique_ptr<RedisConnection> admin_;
  boost::asio::io_context io_;
};

TEST_F(RedisLocatorTest, UpsertStoresAndLookupFindsEveryField) {
  RedisLocator locator(io_, options());
  UpdateResult result = update_on(locator, make_request("c1", 1, {phone_binding("sip:alice@192.0.2.1")}));
  ASSERT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  EXPECT_EQ(contacts_of(result.registered()), std::vector<std::string>{"sip:alice@192.0.2.1"});
  EXPECT_EQ(contacts_of(result.current), std::vector<std::string>{"sip:alice@192.0.2.1"});

  LookupResult found = lookup_on(locator);
  ASSERT_TRUE(found.ok) << found.detail;
  ASSERT_EQ(found.bindings.size(), 1u);
  const Binding& b = found.bindings[0];
  EXPECT_EQ(b.aor, kAlice);
  EXPECT_EQ(b.call_id, "c1");
  EXPECT_EQ(b.cseq, 1u);
  EXPECT_EQ(b.home_proxy, kNodeA);
  EXPECT_EQ(b.destination, "udp:192.0.2.1:5060");
  EXPECT_EQ(b.user_agent, "test-phone/1.0");
  EXPECT_EQ(b.path, std::vector<std::string>{"<sip:edge.example.com;lr>"});
  EXPECT_GT(b.remaining_seconds(Clock::now()), 3590u);
  EXPECT_EQ(locator.binding_count(), 1u);
  EXPECT_TRUE(lookup_on(locator, "sip:bob@example.com").bindings.empty());
  EXPECT_TRUE(key_exists(locator.binding_key_name(kAlice, "sip:alice@192.0.2.1")));
  EXPECT_TRUE(key_exists(locator.index_key_name(kAlice)));
}

// The rules themselves are in the conformance suite; these check the keys.
TEST_F(RedisLocatorTest, RefreshRenewsTheBindingKeysExpiry) {
  RedisLocator locator(io_, options());
  update_on(locator, make_request("c1", 1, {make_binding("sip:alice@192.0.2.1", 60s)}));
  ASSERT_EQ(update_on(locator, make_request("c1", 2, {make_binding("sip:alice@192.0.2.1", 600s)})).status,
            UpdateStatus::Ok);
  const long long ttl = admin_->command({"PTTL", locator.binding_key_name(kAlice, "sip:alice@192.0.2.1")})->integer;
  EXPECT_GT(ttl, 500000);
}

TEST_F(RedisLocatorTest, RemovalAndRemoveAllDeleteTheirKeys) {
  RedisLocator locator(io_, options());
  update_on(locator, make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")}));
  ASSERT_EQ(update_on(locator, make_request("c1", 2, {}, {"sip:a@192.0.2.1"})).status, UpdateStatus::Ok);
  EXPECT_FALSE(key_exists(locator.binding_key_name(kAlice, "sip:a@192.0.2.1")));
  EXPECT_TRUE(key_exists(locator.binding_key_name(kAlice, "sip:a@192.0.2.2")));

  UpdateRequest all = make_request("c1", 3, {});
  all.remove_all = true;
  ASSERT_EQ(update_on(locator, std::move(all)).status, UpdateStatus::Ok);
  EXPECT_FALSE(key_exists(locator.binding_key_name(kAlice, "sip:a@192.0.2.2")));
  EXPECT_FALSE(key_exists(locator.index_key_name(kAlice)));
}

TEST_F(RedisLocatorTest, BindingReplacedBeyondTheLimitLosesItsKey) {
  RedisLocator locator(io_, options());
  for (const char* call_id : {"c1", "c2", "c3", "c4"}) {
    update_on(locator, make_request(call_id, 1, {make_binding(std::string("sip:a@192.0.2.") + call_id)}));
  }
  EXPECT_FALSE(key_exists(locator.binding_key_name(kAlice, "sip:a@192.0.2.c1")));
  EXPECT_TRUE(key_exists(locator.binding_key_name(kAlice, "sip:a@192.0.2.c4")));
}

TEST_F(RedisLocatorTest, RedisExpiresEachBindingWithoutAnySweeper) {
  RedisLocator locator(io_, options());  // never started: no sweeper runs
  update_on(locator, make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 300ms)}));
  const std::string name = locator.binding_key_name(kAlice, "sip:a@192.0.2.1");
  ASSERT_TRUE(key_exists(name));
  ASSERT_TRUE(key_exists(locator.index_key_name(kAlice)));
  std::this_thread::sleep_for(700ms);
  EXPECT_FALSE(key_exists(name));
  EXPECT_FALSE(key_exists(locator.index_key_name(kAlice))) << "the index expires with its last binding";
  EXPECT_TRUE(lookup_on(locator).bindings.empty());
}

TEST_F(RedisLocatorTest, ShortBindingExpiresWhileTheOtherStays) {
  RedisLocator locator(io_, options());
  update_on(locator, make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 300ms), make_binding("sip:a@192.0.2.2")}));
  std::this_thread::sleep_for(600ms);
  EXPECT_FALSE(key_exists(locator.binding_key_name(kAlice, "sip:a@192.0.2.1")));
  EXPECT_EQ(contacts_of(lookup_on(locator).bindings), std::vector<std::string>{"sip:a@192.0.2.2"});
  // The lookup pruned the dead index entry.
  EXPECT_EQ(admin_->command({"HLEN", locator.index_key_name(kAlice)})->integer, 1);
}

TEST_F(RedisLocatorTest, NodeBSeesNodeABindingWithNodeAAsHome) {
  RedisLocator node_a(io_, options(kNodeA));
  RedisLocator node_b(io_, options(kNodeB));
  ASSERT_EQ(update_on(node_a, make_request("c1", 1, {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, 42)})).status,
            UpdateStatus::Ok);
  LookupResult seen = lookup_on(node_b);
  ASSERT_TRUE(seen.ok);
  ASSERT_EQ(seen.bindings.size(), 1u);
  EXPECT_EQ(seen.bindings[0].home_proxy, kNodeA);
  EXPECT_EQ(seen.bindings[0].connection, 0u) << "node A's connection id means nothing on node B";
  EXPECT_EQ(lookup_on(node_a).bindings.at(0).connection, 42u);

  // The phone moves to node B: the binding's home follows it.
  update_on(node_b, make_request("c2", 1, {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, 7)}));
  EXPECT_EQ(lookup_on(node_a).bindings.at(0).home_proxy, kNodeB);
}

TEST_F(RedisLocatorTest, ConnectionIdsOfAnEarlierRunOfThisNodeAreNotTrusted) {
  {
    RedisLocator before_restart(io_, options(kNodeA));
    update_on(before_restart, make_request("c1", 1, {make_binding("sip:a@192.0.2.1;transport=tcp", 3600s, 42)}));
  }
  RedisLocator after_restart(io_, options(kNodeA));
  LookupResult seen = lookup_on(after_restart);
  ASSERT_EQ(seen.bindings.size(), 1u);
  EXPECT_EQ(seen.bindings[0].home_proxy, kNodeA);
  EXPECT_EQ(seen.bindings[0].connection, 0u) << "id 42 may now be another phone's connection";
}

TEST_F(RedisLocatorTest, LookupIsOneRoundTrip) {
  RedisLocator locator(io_, options());
  update_on(locator, make_request("c1", 1, {make_binding("sip:a@192.0.2.1"), make_binding("sip:a@192.0.2.2")}));
  ASSERT_EQ(lookup_on(locator).bindings.size(), 2u);  // warm: connections open, script loaded

  // MONITOR shows every command with its client address; commands run by a
  // script carry "lua" instead. A marker from another client ends the watch.
  redisContext* monitor = redisConnect("127.0.0.1", server_->port());
  ASSERT_TRUE(monitor != nullptr && monitor->err == 0);
  auto* ok = static_cast<redisReply*>(redisCommand(monitor, "MONITOR"));
  ASSERT_NE(ok, nullptr);
  freeReplyObject(ok);
  const std::string marker = "end-of-test-" + prefix_;

  LookupResult found = lookup_on(locator);
  ASSERT_EQ(found.bindings.size(), 2u);
  admin_->command({"ECHO", marker});

  int from_clients = 0;
  std::vector<std::string> seen;
  for (;;) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(monitor, &raw), REDIS_OK);
    std::string line(static_cast<redisReply*>(raw)->str, static_cast<redisReply*>(raw)->len);
    freeReplyObject(raw);
    if (line.find(marker) != std::string::npos) break;
    seen.push_back(line);
    if (line.find(" lua] ") == std::string::npos) ++from_clients;
  }
  redisFree(monitor);
  EXPECT_EQ(from_clients, 1) << "commands seen: " << ::testing::PrintToString(seen);
  ASSERT_FALSE(seen.empty());
  EXPECT_NE(seen[0].find("\"EVALSHA\""), std::string::npos) << seen[0];
}

TEST_F(RedisLocatorTest, ConcurrentUpdatesOfOneAorLoseNothing) {
  RedisLocatorOptions shared = options();
  shared.max_bindings_per_aor = 0;  // unlimited: every contact must survive
  shared.pool_size = 4;
  shared.timeout = 10s;  // correctness under contention, not latency (slow under sanitizers)
  RedisLocator node_a(io_, shared);
  shared.home_proxy = kNodeB;
  RedisLocator node_b(io_, shared);
  std::vector<std::future<UpdateResult>> answers;
  std::vector<std::shared_ptr<std::promise<UpdateResult>>> promises;
  for (int i = 0; i < 40; ++i) {
    auto promise = std::make_shared<std::promise<UpdateResult>>();
    answers.push_back(promise->get_future());
    RedisLocator& node = i % 2 == 0 ? node_a : node_b;
    node.update(make_request("c" + std::to_string(i), 1, {make_binding("sip:a@192.0.2." + std::to_string(i))}),
                [promise](UpdateResult r) { promise->set_value(std::move(r)); });
  }
  for (auto& answer : answers) {
    ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
    UpdateResult result = answer.get();
    EXPECT_EQ(result.status, UpdateStatus::Ok) << result.detail;
  }
  EXPECT_EQ(lookup_on(node_a).bindings.size(), 40u);
}

TEST_F(RedisLocatorTest, SweepReportsOwnExpiredBindingsOnceButNotThoseTakenOver) {
  RedisLocator node_a(io_, options(kNodeA));
  RedisLocator node_b(io_, options(kNodeB));
  auto observer = std::make_shared<RecordingObserver>();
  node_a.set_observer(observer);
  update_on(node_a, make_request("c1", 1, {make_binding("sip:a@192.0.2.1", 300ms)}));
  update_on(node_a, make_request("c2", 1, {make_binding("sip:a@192.0.2.2", 300ms)}));
  // The second phone re-registers through node B before node A sweeps.
  update_on(node_b, make_request("c3", 1, {make_binding("sip:a@192.0.2.2", 3600s)}));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(sweep_on(node_a), 1);
  auto calls = observer->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(contacts_of(calls[0]), std::vector<std::string>{"sip:a@192.0.2.1"});
  EXPECT_EQ(sweep_on(node_a), 0);
  EXPECT_EQ(observer->calls().size(), 1u);
  EXPECT_EQ(node_a.binding_count(), 0u);
}

// ---- servers of their own ----

TEST(RedisLocatorPassword, RightPasswordWorksWrongOneIsAnErrorThatDoesNotLeakIt) {
  if (!RedisServer::available()) GTEST_SKIP() << RedisServer::missing_message();
  const std::string password = "pa@ss:w/rd%42";
  RedisServer server(password);
  std::string error;
  ASSERT_TRUE(server.start(error)) << error;
  boost::asio::io_context io;

  RedisLocatorOptions good;
  good.endpoint = *endpoint_of(server.url());
  ASSERT_EQ(good.endpoint.password, password) << "percent-decoded from " << server.url();
  good.home_proxy = kNodeA;
  RedisLocator locator(io, good);
  EXPECT_EQ(update_on(locator, make_request("c1", 1, {make_binding("sip:a@192.0.2.1")})).status, UpdateStatus::Ok);
  EXPECT_EQ(lookup_on(locator).bindings.size(), 1u);

  RedisLocatorOptions bad = good;
  bad.endpoint.password = "wrong-" + password;
  RedisLocator refused(io, bad);
  UpdateResult denied = update_on(refused, make_request("c2", 1, {make_binding("sip:a@192.0.2.9")}));
  EXPECT_EQ(denied.status, UpdateStatus::Error);
  EXPECT_EQ(denied.detail.find(password), std::string::npos) << denied.detail;
  EXPECT_NE(denied.detail.find("authentication"), std::string::npos) << denied.detail;
  LookupResult unseen = lookup_on(refused);
  EXPECT_FALSE(unseen.ok);

  RedisLocatorOptions none = good;
  none.endpoint.password.clear();
  RedisLocator anonymous(io, none);
  EXPECT_FALSE(lookup_on(anonymous).ok);
}

TEST(RedisLocatorOutage, StoppedRedisIsAnErrorWithinTheTimeoutThenRecoversWithoutANewLocator) {
  if (!RedisServer::available()) GTEST_SKIP() << RedisServer::missing_message();
  RedisServer server;
  std::string error;
  ASSERT_TRUE(server.start(error)) << error;
  boost::asio::io_context io;
  RedisLocatorOptions opts;
  opts.endpoint = *endpoint_of(server.url());
  opts.home_proxy = kNodeA;
  opts.timeout = 500ms;
  opts.pool_size = 2;
  RedisLocator locator(io, opts);
  ASSERT_EQ(update_on(locator, make_request("c1", 1, {make_binding("sip:a@192.0.2.1")})).status, UpdateStatus::Ok);
  ASSERT_TRUE(lookup_on(locator).ok);

  server.stop();
  const auto started = std::chrono::steady_clock::now();
  UpdateResult during = update_on(locator, make_request("c1", 2, {make_binding("sip:a@192.0.2.1")}));
  LookupResult lookup_during = lookup_on(locator);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(during.status, UpdateStatus::Error);
  EXPECT_FALSE(during.detail.empty());
  EXPECT_FALSE(lookup_during.ok);
  EXPECT_LT(elapsed, 2 * opts.timeout + 500ms);

  ASSERT_TRUE(server.start(error)) << error;  // same port, empty data (no persistence)
  // The first calls after the restart already work: stale connections are replaced.
  UpdateResult after = update_on(locator, make_request("c1", 3, {make_binding("sip:a@192.0.2.1")}));
  EXPECT_EQ(after.status, UpdateStatus::Ok) << after.detail;
  LookupResult found = lookup_on(locator);
  EXPECT_TRUE(found.ok) << found.detail;
  EXPECT_EQ(found.bindings.size(), 1u);
}

// A server that accepts connections and never answers: every call must come
// back as an error once the timeout passed, and calls beyond max_in_flight
// at once.
TEST(RedisLocatorOutage, HangingServerAnswersWithinTheTimeoutAndBoundsCallsInFlight) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  boost::asio::io_context io;
  RedisLocatorOptions opts;
  opts.endpoint.host = "127.0.0.1";
  opts.endpoint.port = ntohs(address.sin_port);
  opts.timeout = 300ms;
  opts.pool_size = 1;
  opts.max_in_flight = 1;
  {
    RedisLocator locator(io, opts);
    std::promise<UpdateResult> first;
    auto first_answer = first.get_future();
    const auto started = std::chrono::steady_clock::now();
    locator.update(make_request("c1", 1, {make_binding("sip:a@192.0.2.1")}),
                   [&](UpdateResult r) { first.set_value(std::move(r)); });
    LookupResult refused = lookup_on(locator);  // the only slot is taken
    EXPECT_FALSE(refused.ok);
    EXPECT_NE(refused.detail.find("in flight"), std::string::npos) << refused.detail;
    ASSERT_EQ(first_answer.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(first_answer.get().status, UpdateStatus::Error);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
  }
  ::close(listener);
}

TEST(RedisUrl, ParsesCredentialsHostPortAndDatabase) {
  std::string error;
  auto full = parse_redis_url("redis://user:p%40ss%3Aw@cache.example.com:6390/3", error);
  ASSERT_TRUE(full) << error;
  EXPECT_EQ(full->user, "user");
  EXPECT_EQ(full->password, "p@ss:w");
  EXPECT_EQ(full->host, "cache.example.com");
  EXPECT_EQ(full->port, 6390);
  EXPECT_EQ(full->db, 3u);
  EXPECT_EQ(full->describe(), "cache.example.com:6390/3");

  auto password_only = parse_redis_url("redis://:secret@10.0.0.1", error);
  ASSERT_TRUE(password_only);
  EXPECT_EQ(password_only->user, "");
  EXPECT_EQ(password_only->password, "secret");
  EXPECT_EQ(password_only->port, 6379);
  EXPECT_EQ(password_only->db, 0u);

  auto v6 = parse_redis_url("redis://[::1]:7000/1", error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->describe(), "[::1]:7000/1");
}

TEST(RedisUrl, RefusesMalformedUrlsWithoutRepeatingThePassword) {
  for (const char* url : {"http://host", "redis://", "redis://:topsecret@host:0", "redis://:topsecret@host:99999",
                          "redis://:topsecret@host:6379/x", "redis://:top%zzsecret@host", "redis://:topsecret@[::1"}) {
    std::string error;
    EXPECT_FALSE(parse_redis_url(url, error)) << url;
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace cppbx::location::conformance
