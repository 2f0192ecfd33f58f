// The locator webhook: exact payloads (pure functions), and delivery against
// a real recording receiver (tests/support/http_services/recorder_service.py
// on a free loopback port): headers received, the events filter, retries
// with backoff on 503 and none on 400, attempts exhausted, the queue bound
// dropping the oldest, per-AoR order across retries while other AoRs go on,
// receiver down then up, and observer calls that never wait for the
// receiver. Facts are read from the receiver's records, not the webhook's word.
#include "location/locator_webhook.hpp"

#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "../support/python_service.hpp"

namespace cppbx::location {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using nlohmann::json;

const Clock::time_point kNow = Clock::time_point(std::chrono::seconds(1704537600));

Binding sample_binding(std::string aor = "sip:1001@example.com", std::string user_agent = "Zoiper 5") {
  Binding b;
  b.aor = std::move(aor);
  b.contact = "sip:1001@192.168.1.100:5060";
  b.expires_at = kNow + 3600s;
  b.destination = "udp:192.168.1.100:5060";
  b.transport = transport::Protocol::Udp;
  b.user_agent = std::move(user_agent);
  b.home_proxy = "sip:203.0.113.5:5060";
  return b;
}

TEST(LocationPayload, RegisteredIsExactlyTheDocumentedShape) {
  EXPECT_EQ(binding_event_payload(LocationEvent::Registered, sample_binding(), kNow),
            R"({"event":"registered","location":{"aor":"sip:1001@example.com","expires":3600,)"
            R"("destination":"udp:192.168.1.100:5060","supports_webrtc":false,"transport":"Udp",)"
            R"("user_agent":"Zoiper 5","home_proxy":"sip:203.0.113.5:5060"},"timestamp":1704537600})");
}

TEST(LocationPayload, UnregisteredHasExpiresZero) {
  Binding b = sample_binding();
  b.transport = transport::Protocol::Tcp;
  b.destination = "tcp:192.168.1.100:40000";
  b.supports_webrtc = true;
  EXPECT_EQ(binding_event_payload(LocationEvent::Unregistered, b, kNow + 10s),
            R"({"event":"unregistered","location":{"aor":"sip:1001@example.com","expires":0,)"
            R"("destination":"tcp:192.168.1.100:40000","supports_webrtc":true,"transport":"Tcp",)"
            R"("user_agent":"Zoiper 5","home_proxy":"sip:203.0.113.5:5060"},"timestamp":1704537610})");
}

TEST(LocationPayload, OfflineCarriesAllBindingsInOneArray) {
  Binding a = sample_binding("sip:1001@example.com", "A");
  Binding b = sample_binding("sip:1002@example.com", "B");
  b.transport = transport::Protocol::Wss;
  EXPECT_EQ(offline_payload({a, b}, kNow),
            R"({"event":"offline","locations":[)"
            R"({"aor":"sip:1001@example.com","expires":0,"destination":"udp:192.168.1.100:5060",)"
            R"("supports_webrtc":false,"transport":"Udp","user_agent":"A","home_proxy":"sip:203.0.113.5:5060"},)"
            R"({"aor":"sip:1002@example.com","expires":0,"destination":"udp:192.168.1.100:5060",)"
            R"("supports_webrtc":false,"transport":"Wss","user_agent":"B","home_proxy":"sip:203.0.113.5:5060"}],)"
            R"("timestamp":1704537600})");
}

TEST(LocationPayload, InvalidUtf8FromAPhoneDoesNotThrow) {
  Binding b = sample_binding("sip:1001@example.com", std::string("bad\xff\xfe", 5));
  std::string payload;
  ASSERT_NO_THROW(payload = binding_event_payload(LocationEvent::Registered, b, kNow));
  auto parsed = json::parse(payload, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(parsed["location"]["user_agent"].get<std::string>().substr(0, 3), "bad");
}

TEST(LocationPayload, StoredLocationRoundTripsToABinding) {
  Binding b = sample_binding();
  b.instance_id = "<urn:uuid:1>";
  b.reg_id = 2;
  b.path = {"<sip:edge.example.com;lr>"};
  b.call_id = "c1";
  b.cseq = 7;
  b.q = 0.5f;
  b.connection = 42;
  b.transport = transport::Protocol::Tcp;
  b.last_modified = kNow - 5s;
  json stored = json::parse(stored_location_json(b, LocationEvent::Registered, kNow).dump());
  std::string error;
  auto back = binding_from_json(stored, kNow + 100s, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->aor, b.aor);
  EXPECT_EQ(back->contact, b.contact);
  EXPECT_EQ(back->instance_id, b.instance_id);
  EXPECT_EQ(back->reg_id, 2u);
  EXPECT_EQ(back->path, b.path);
  EXPECT_EQ(back->call_id, "c1");
  EXPECT_EQ(back->cseq, 7u);
  EXPECT_EQ(back->connection, 42u);
  EXPECT_EQ(back->transport, transport::Protocol::Tcp);
  EXPECT_EQ(back->expires_at, b.expires_at);  // absolute, not reset by the later `now`
  EXPECT_EQ(back->last_modified, b.last_modified);
  EXPECT_FLOAT_EQ(back->q, 0.5f);
}

TEST(LocationPayload, BadStoredLocationsAreErrorsNotExceptions) {
  std::string error;
  EXPECT_FALSE(binding_from_json(json::parse(R"({"aor": 5, "contact": "sip:x"})"), kNow, &error));
  EXPECT_NE(error.find("aor"), std::string::npos) << error;
  EXPECT_FALSE(binding_from_json(json::parse(R"({"aor": "sip:a@b"})"), kNow, &error));
  EXPECT_FALSE(binding_from_json(json::parse(R"({"aor": "sip:a@b", "contact": "sip:x"})"), kNow, &error));
  EXPECT_NE(error.find("expires"), std::string::npos) << error;
  EXPECT_FALSE(binding_from_json(json::parse(R"({"aor":"a","contact":"c","expires":5,"transport":"Pigeon"})"),
                                 kNow, &error));
  EXPECT_FALSE(binding_from_json(json::parse("[1]"), kNow, &error));
  auto minimal = binding_from_json(json::parse(R"({"aor":"a","contact":"c","expires":60})"), kNow, &error);
  ASSERT_TRUE(minimal) << error;
  EXPECT_EQ(minimal->expires_at, kNow + 60s);
}

// ---------------------------------------------------------------------------

class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

class WebhookDelivery : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(receiver_.running());
  }

  LocatorWebhookOptions options() const {
    LocatorWebhookOptions o;
    o.url = receiver_.url("/sip-events");
    o.timeout = 2000ms;
    o.backoff_initial = 200ms;
    o.backoff_max = 1000ms;
    return o;
  }

  std::shared_ptr<LocatorWebhook> make(LocatorWebhookOptions o) {
    auto webhook = LocatorWebhook::create(std::move(o));
    EXPECT_TRUE(webhook);
    return webhook;
  }

  // The events the receiver recorded, waiting up to `within` for `count`.
  json received(size_t count, std::chrono::milliseconds within = 5000ms) {
    const auto deadline = SteadyClock::now() + within;
    json requests = receiver_.requests();
    while (requests.size() < count && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      requests = receiver_.requests();
    }
    return requests;
  }

  static json body(const json& request) { return json::parse(request["body"].get<std::string>()); }

  static bool settle(const LocatorWebhook& webhook, std::chrono::milliseconds within = 8000ms) {
    const auto deadline = SteadyClock::now() + within;
    while (SteadyClock::now() < deadline) {
      auto s = webhook.stats();
      if (s.queued == 0 && s.in_flight == 0) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  void plan(std::vector<int> statuses, int delay_ms = 0, int default_status = 200) {
    ASSERT_EQ(receiver_.post_json("/_plan", {{"statuses", statuses}, {"delay_ms", delay_ms},
                                             {"default_status", default_status}}),
              200);
  }

  test::PythonService receiver_{"recorder_service.py"};
};

TEST_F(WebhookDelivery, RegisteredEventWithCustomHeadersReachesTheReceiver) {
  LogCapture logs;
  auto o = options();
  o.headers = {{"X-API-Key", "very-secret-key-4711"}, {"Authorization", "Bearer tok-0815"}};
  auto webhook = make(o);
  webhook->on_registered(std::vector<Binding>{sample_binding()});
  json requests = received(1);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["method"], "POST");
  EXPECT_EQ(requests[0]["path"], "/sip-events");
  EXPECT_EQ(requests[0]["headers"]["X-API-Key"], "very-secret-key-4711");
  EXPECT_EQ(requests[0]["headers"]["Authorization"], "Bearer tok-0815");
  EXPECT_EQ(requests[0]["headers"]["Content-Type"], "application/json");
  json event = body(requests[0]);
  EXPECT_EQ(event["event"], "registered");
  EXPECT_EQ(event["location"]["aor"], "sip:1001@example.com");
  EXPECT_EQ(event["location"]["user_agent"], "Zoiper 5");
  ASSERT_TRUE(settle(*webhook));
  EXPECT_EQ(webhook->stats().sent, 1u);
  // A failing delivery is logged, but never with a header value.
  plan({400});
  webhook->on_unregistered(std::vector<Binding>{sample_binding()});
  ASSERT_EQ(received(2).size(), 2u);
  ASSERT_TRUE(settle(*webhook));
  EXPECT_NE(logs.text().find("failed"), std::string::npos) << logs.text();
  EXPECT_EQ(logs.text().find("very-secret-key-4711"), std::string::npos);
  EXPECT_EQ(logs.text().find("tok-0815"), std::string::npos);
}

TEST_F(WebhookDelivery, OneEventPerBindingForRegisterOutcomes) {
  auto webhook = make(options());
  Binding a = sample_binding("sip:1001@example.com", "first");
  Binding b = sample_binding("sip:1001@example.com", "second");
  webhook->on_registered(std::vector<Binding>{a, b});
  webhook->on_unregistered(std::vector<Binding>{a});
  json requests = received(3);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(body(requests[0])["location"]["user_agent"], "first");
  EXPECT_EQ(body(requests[1])["location"]["user_agent"], "second");
  EXPECT_EQ(body(requests[2])["event"], "unregistered");
}

TEST_F(WebhookDelivery, BindingsWithoutHomeProxyReportThisNode) {
  auto o = options();
  o.home_proxy = "sip:198.51.100.7:5060";
  auto webhook = make(o);
  Binding ours = sample_binding("sip:1001@example.com");
  ours.home_proxy.clear();
  Binding elsewhere = sample_binding("sip:1002@example.com");  // sip:203.0.113.5:5060
  webhook->on_registered(std::vector<Binding>{ours});
  webhook->on_offline({ours, elsewhere});
  json requests = received(2);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(body(requests[0])["location"]["home_proxy"], "sip:198.51.100.7:5060");
  json offline = body(requests[1]);
  EXPECT_EQ(offline["locations"][0]["home_proxy"], "sip:198.51.100.7:5060");
  EXPECT_EQ(offline["locations"][1]["home_proxy"], "sip:203.0.113.5:5060");
}

TEST_F(WebhookDelivery, EventsFilterSendsOnlyTheChosenEvents) {
  auto o = options();
  o.events = {"offline"};
  auto webhook = make(o);
  EXPECT_FALSE(webhook->wants(LocationEvent::Registered));
  webhook->on_registered(std::vector<Binding>{sample_binding()});
  webhook->on_unregistered(std::vector<Binding>{sample_binding()});
  webhook->on_offline({sample_binding("sip:1001@example.com"), sample_binding("sip:1002@example.com")});
  ASSERT_TRUE(settle(*webhook));
  std::this_thread::sleep_for(200ms);
  json requests = receiver_.requests();
  ASSERT_EQ(requests.size(), 1u);
  json event = body(requests[0]);
  EXPECT_EQ(event["event"], "offline");
  EXPECT_EQ(event["locations"].size(), 2u);
}

TEST_F(WebhookDelivery, ServerErrorIsRetriedWithBackoffThenDelivered) {
  plan({503});
  auto webhook = make(options());
  webhook->on_registered(std::vector<Binding>{sample_binding()});
  json requests = received(2);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["body"], requests[1]["body"]);
  const double gap = requests[1]["time"].get<double>() - requests[0]["time"].get<double>();
  EXPECT_GE(gap, 0.18) << "the retry waits for the backoff";
  ASSERT_TRUE(settle(*webhook));
  auto s = webhook->stats();
  EXPECT_EQ(s.sent, 1u);
  EXPECT_EQ(s.retried, 1u);
  EXPECT_EQ(s.failed, 0u);
}

TEST_F(WebhookDelivery, ClientErrorIsNotRetried) {
  plan({400});
  auto webhook = make(options());
  webhook->on_registered(std::vector<Binding>{sample_binding()});
  ASSERT_EQ(received(1).size(), 1u);
  ASSERT_TRUE(settle(*webhook));
  std::this_thread::sleep_for(500ms);  // longer than the backoff: no second attempt
  EXPECT_EQ(receiver_.requests().size(), 1u);
  auto s = webhook->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(s.sent, 0u);
}

TEST_F(WebhookDelivery, AttemptsAreBoundedByMaxAttempts) {
  plan({}, 0, 503);
  auto o = options();
  o.max_attempts = 3;
  o.backoff_initial = 50ms;
  auto webhook = make(o);
  webhook->on_registered(std::vector<Binding>{sample_binding()});
  ASSERT_TRUE(settle(*webhook));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(receiver_.requests().size(), 3u);
  auto s = webhook->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.retried, 2u);
  EXPECT_EQ(s.sent, 0u);
}

TEST_F(WebhookDelivery, FullQueueDropsTheOldestEventsAndCountsThem) {
  LogCapture logs;
  plan({}, 600);  // every answer takes 0.6 s
  auto o = options();
  o.max_concurrent = 1;
  o.queue_size = 3;
  auto webhook = make(o);
  webhook->on_registered(std::vector<Binding>{sample_binding("sip:1@example.com", "e1")});
  ASSERT_EQ(received(1).size(), 1u);  // e1 is in flight, not queued
  for (int i = 2; i <= 6; ++i) {
    webhook->on_registered(std::vector<Binding>{sample_binding("sip:" + std::to_string(i) + "@example.com", "e" + std::to_string(i))});
  }
  auto s = webhook->stats();
  EXPECT_EQ(s.queued, 3u);
  EXPECT_EQ(s.dropped, 2u);
  ASSERT_TRUE(settle(*webhook));
  json requests = receiver_.requests();
  std::vector<std::string> agents;
  for (const auto& r : requests) agents.push_back(body(r)["location"]["user_agent"]);
  EXPECT_EQ(agents, (std::vector<std::string>{"e1", "e4", "e5", "e6"}));
  EXPECT_EQ(webhook->stats().sent, 4u);
  EXPECT_NE(logs.text().find("queue full"), std::string::npos) << logs.text();
}

TEST_F(WebhookDelivery, EventsOfOneAorStayInOrderAcrossRetriesWhileOthersGoOn) {
  plan({503});
  auto o = options();
  o.backoff_initial = 500ms;
  auto webhook = make(o);
  webhook->on_registered(std::vector<Binding>{sample_binding("sip:alice@example.com", "alice-1")});
  ASSERT_EQ(received(1).size(), 1u);  // answered 503: alice-1 waits for its retry
  webhook->on_unregistered(std::vector<Binding>{sample_binding("sip:alice@example.com", "alice-2")});
  webhook->on_registered(std::vector<Binding>{sample_binding("sip:bob@example.com", "bob-1")});
  webhook->on_offline({sample_binding("sip:alice@example.com", "alice-3"),
                       sample_binding("sip:bob@example.com", "bob-2")});
  ASSERT_TRUE(settle(*webhook));
  json requests = receiver_.requests();
  std::vector<std::string> order;
  for (const auto& r : requests) {
    json event = body(r);
    order.push_back(event.contains("location") ? event["location"]["user_agent"].get<std::string>()
                                               : "offline:" + event["locations"][0]["user_agent"].get<std::string>());
  }
  // bob-1 does not wait for alice's retry; alice-2 does; the offline event
  // naming both AoRs comes after each one's earlier events.
  EXPECT_EQ(order, (std::vector<std::string>{"alice-1", "bob-1", "alice-1", "alice-2", "offline:alice-3"}));
}

TEST_F(WebhookDelivery, ReceiverDownThenUpGetsTheEventAfterARetry) {
  receiver_.stop();
  auto o = options();
  o.max_attempts = 6;
  o.backoff_initial = 300ms;
  auto webhook = make(o);
  webhook->on_registered(std::vector<Binding>{sample_binding()});
  std::this_thread::sleep_for(400ms);
  EXPECT_GE(webhook->stats().retried, 1u);
  ASSERT_TRUE(receiver_.start());
  json requests = received(1, 8000ms);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(body(requests[0])["event"], "registered");
  ASSERT_TRUE(settle(*webhook));
  EXPECT_EQ(webhook->stats().sent, 1u);
  EXPECT_EQ(webhook->stats().failed, 0u);
}

TEST_F(WebhookDelivery, ObserverCallsNeverWaitForASlowReceiver) {
  plan({}, 2000);
  auto webhook = make(options());
  std::vector<Binding> many;
  const auto start = SteadyClock::now();
  for (int i = 0; i < 500; ++i) {
    webhook->on_registered(std::vector<Binding>{sample_binding("sip:" + std::to_string(i) + "@example.com")});
  }
  const auto took = SteadyClock::now() - start;
  EXPECT_LT(took, 200ms) << "500 events must be queued without waiting";
  EXPECT_EQ(webhook->stats().queued + webhook->stats().in_flight, 500u);
  // Destroying the webhook with events pending returns promptly.
  const auto stop_start = SteadyClock::now();
  webhook.reset();
  EXPECT_LT(SteadyClock::now() - stop_start, 1500ms);
}

}  // namespace
}  // namespace cppbx::location
