// The locator webhook ([proxy.locator_webhook]): POSTs registered,
// unregistered and offline events (location_payload.hpp) to one URL.
//
// Design decisions:
// - Never on the SIP path: the observer calls only build the payload and
//   append it to a bounded in-memory queue; one delivery thread sends it
//   through the shared asynchronous HTTP client. When the queue is full the
//   oldest queued event is dropped (counted, logged at most once a second).
// - Per-AoR order: every event is queued in the lane of each AoR it names,
//   and it is sent only when it is first in all of them and none of them has
//   an event in flight or waiting for a retry. So events of one AoR arrive in
//   order even across retries, while different AoRs are delivered in
//   parallel (up to max_concurrent). An offline event naming several AoRs
//   waits for each of them.
// - One event per binding for registered / unregistered (the payload has a
//   single `location`); one event for all the bindings that went offline at
//   one moment (a sweep, a closed connection).
// - Retries with exponential backoff (backoff_initial doubled each time, at
//   most backoff_max) on connection errors, timeouts and 5xx, up to
//   max_attempts attempts in all; never on 4xx (the receiver refused the
//   event: sending it again would not help). Other 1xx/3xx answers count as
//   failed too.
// - Header values (API keys) are sent but never logged; the URL is logged
//   without user info or query. Retry, failure and drop lines are throttled
//   (log::Throttle) so a dead receiver does not log a line per event.
// - Events still queued when the webhook is destroyed are not delivered (the
//   count is logged).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "http_client/http_client.hpp"
#include "location/events.hpp"
#include "location/locator.hpp"
#include "location/location_payload.hpp"

namespace cppbx::location {

struct LocatorWebhookOptions {
  std::string url;
  std::vector<std::string> events;  // empty: all three
  std::chrono::milliseconds timeout{5000};
  http::HeaderList headers;
  uint32_t max_attempts = 3;
  size_t queue_size = 10000;
  size_t max_concurrent = 32;  // deliveries in flight at once (distinct AoRs)
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  // This node's SIP address, reported for bindings whose locator leaves
  // Binding::home_proxy empty (the memory locator: every binding is ours).
  std::string home_proxy;
};

struct LocatorWebhookStats {
  uint64_t sent = 0;     // delivered (2xx)
  uint64_t retried = 0;  // attempts after the first
  uint64_t failed = 0;   // given up: 4xx / other status, or attempts exhausted
  uint64_t dropped = 0;  // pushed out of a full queue
  size_t queued = 0;     // waiting to be sent (not in flight)
  size_t in_flight = 0;  // being sent or waiting for a retry
};

class LocatorWebhook final : public RegistrationObserver, public LocationObserver {
 public:
  // nullptr and a reason in `error` when the HTTP client cannot be set up.
  static std::shared_ptr<LocatorWebhook> create(LocatorWebhookOptions options, std::string* error = nullptr);
  ~LocatorWebhook() override;
  LocatorWebhook(const LocatorWebhook&) = delete;
  LocatorWebhook& operator=(const LocatorWebhook&) = delete;

  void on_registered(std::span<const Binding> bindings) override;
  void on_unregistered(std::span<const Binding> bindings) override;
  void on_offline(const std::vector<Binding>& bindings) override;

  bool wants(LocationEvent event) const;
  LocatorWebhookStats stats() const;
  const LocatorWebhookOptions& options() const { return options_; }

 private:
  struct State;
  explicit LocatorWebhook(LocatorWebhookOptions options);
  void enqueue_each(LocationEvent kind, std::span<const Binding> bindings);
  void enqueue(LocationEvent event, std::vector<std::string> aors, std::string payload);

  LocatorWebhookOptions options_;
  bool wanted_[3] = {true, true, true};
  std::shared_ptr<State> state_;
};

}  // namespace cppbx::location
