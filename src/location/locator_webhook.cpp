// See locator_webhook.hpp for the design. Invariants, under State::mutex:
// - an event is "queued" until dispatched; it then sits at the front of none
//   of its lanes, and each of its lanes is busy until it is finished;
// - lanes hold queued events in arrival order (sequence numbers increase),
//   so the oldest queued event is at the front of every lane it is in;
// - a lane exists while it has queued events or is busy.
// HTTP callbacks hold only a weak reference to the state: the state owns the
// client, and the client owns the callbacks.
#include "location/locator_webhook.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "common/log_throttle.hpp"

namespace cppbx::location {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Event {
  uint64_t seq = 0;
  LocationEvent kind = LocationEvent::Registered;
  std::vector<std::string> aors;  // distinct
  std::string payload;
  uint32_t attempts = 0;
  bool dispatched = false;
};
using EventPtr = std::shared_ptr<Event>;

struct Lane {
  std::deque<EventPtr> waiting;
  bool busy = false;
  bool listed = false;  // in State::ready_lanes
};

enum class Verdict { Delivered, Retry, GiveUp };

Verdict judge(const http::HttpResponse& response) {
  if (response.answered()) {
    if (response.status >= 200 && response.status < 300) return Verdict::Delivered;
    if (response.status >= 500) return Verdict::Retry;
    return Verdict::GiveUp;
  }
  switch (response.error) {
    case http::HttpError::Connect:
    case http::HttpError::Timeout:
    case http::HttpError::Failed:
    case http::HttpError::Busy: return Verdict::Retry;
    default: return Verdict::GiveUp;
  }
}

std::string outcome_text(const http::HttpResponse& response) {
  return response.answered() ? "HTTP status " + std::to_string(response.status) : response.detail;
}

std::vector<std::string> distinct_aors(const std::vector<Binding>& bindings) {
  std::vector<std::string> aors;
  for (const Binding& b : bindings) aors.push_back(b.aor);
  std::sort(aors.begin(), aors.end());
  aors.erase(std::unique(aors.begin(), aors.end()), aors.end());
  return aors;
}

}  // namespace

struct LocatorWebhook::State : std::enable_shared_from_this<State> {
  explicit State(const LocatorWebhookOptions& o) : options(o), log_url(http::url_for_logs(o.url)) {
    request_headers = options.headers;
    request_headers.emplace_back("Content-Type", "application/json");
  }

  const LocatorWebhookOptions options;
  const std::string log_url;
  http::HeaderList request_headers;
  std::shared_ptr<http::HttpClient> client;
  std::thread worker;

  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  uint64_t next_seq = 0;
  std::unordered_map<std::string, Lane> lanes;
  std::deque<std::string> ready_lanes;     // lanes whose front event may be sendable
  std::deque<EventPtr> arrival;            // queued events (and dispatched leftovers) by age
  std::multimap<SteadyClock::time_point, EventPtr> retries;
  size_t queued = 0;
  size_t in_flight = 0;  // submitted to the client
  size_t retry_waiting = 0;
  LocatorWebhookStats counters;
  // A dead receiver or a flood would otherwise log a line per event.
  log::Throttle drop_log{std::chrono::seconds(1)};
  log::Throttle retry_log{std::chrono::seconds(5)};
  log::Throttle failure_log{std::chrono::seconds(5)};

  // --- under mutex ---------------------------------------------------------

  void list_lane(const std::string& aor) {
    auto it = lanes.find(aor);
    if (it == lanes.end()) return;
    Lane& lane = it->second;
    if (lane.waiting.empty() && !lane.busy) {
      lanes.erase(it);
    } else if (!lane.busy && !lane.listed) {
      lane.listed = true;
      ready_lanes.push_back(aor);
    }
  }

  bool sendable(const EventPtr& event) const {
    return std::all_of(event->aors.begin(), event->aors.end(), [&](const std::string& aor) {
      auto it = lanes.find(aor);
      return it != lanes.end() && !it->second.busy && !it->second.waiting.empty() &&
             it->second.waiting.front() == event;
    });
  }

  void take(const EventPtr& event) {
    for (const std::string& aor : event->aors) {
      Lane& lane = lanes[aor];
      lane.waiting.pop_front();
      lane.busy = true;
    }
    event->dispatched = true;
    --queued;
    while (!arrival.empty() && arrival.front()->dispatched) arrival.pop_front();
  }

  void finish(const EventPtr& event) {
    for (const std::string& aor : event->aors) {
      auto it = lanes.find(aor);
      if (it == lanes.end()) continue;
      it->second.busy = false;
      list_lane(aor);
    }
  }

  void drop_oldest() {
    while (!arrival.empty() && arrival.front()->dispatched) arrival.pop_front();
    if (arrival.empty()) return;
    EventPtr oldest = arrival.front();
    arrival.pop_front();
    for (const std::string& aor : oldest->aors) {
      Lane& lane = lanes[aor];
      if (!lane.waiting.empty() && lane.waiting.front() == oldest) lane.waiting.pop_front();
      list_lane(aor);
    }
    oldest->dispatched = true;  // never sent; keeps the arrival trimming simple
    --queued;
    ++counters.dropped;
    if (drop_log.admit()) {
      spdlog::warn("locator webhook {}: queue full ({} events): dropped the oldest ({} event of {}); {} dropped so far",
                   log_url, options.queue_size, event_name(oldest->kind), http::printable(oldest->aors.front()),
                   counters.dropped);
    }
  }

  std::chrono::milliseconds backoff(uint32_t attempts) const {
    auto delay = options.backoff_initial;
    for (uint32_t i = 1; i < attempts && delay < options.backoff_max; ++i) delay *= 2;
    return std::min(delay, options.backoff_max);
  }

  // Events that may be sent now: due retries first, then lanes in turn.
  std::vector<EventPtr> collect_sendable() {
    std::vector<EventPtr> out;
    const auto now = SteadyClock::now();
    // A waiting retry already holds its slot (retry_waiting).
    while (!retries.empty() && retries.begin()->first <= now) {
      out.push_back(retries.begin()->second);
      retries.erase(retries.begin());
      --retry_waiting;
      ++in_flight;
    }
    while (!ready_lanes.empty() && in_flight + retry_waiting < options.max_concurrent) {
      std::string aor = std::move(ready_lanes.front());
      ready_lanes.pop_front();
      auto it = lanes.find(aor);
      if (it == lanes.end()) continue;
      it->second.listed = false;
      if (it->second.busy || it->second.waiting.empty()) {
        list_lane(aor);
        continue;
      }
      EventPtr event = it->second.waiting.front();
      if (!sendable(event)) continue;  // another of its lanes lists it again when free
      take(event);
      ++in_flight;
      out.push_back(std::move(event));
    }
    return out;
  }

  bool has_work() const {
    if (stopping) return true;
    const bool slot = in_flight + retry_waiting < options.max_concurrent;
    if (!ready_lanes.empty() && slot) return true;
    return !retries.empty() && retries.begin()->first <= SteadyClock::now();
  }

  // --- delivery thread -------------------------------------------------------

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      // No predicate form: a retry scheduled while waiting must shorten the
      // wait, so the deadline is recomputed after every wake-up.
      if (!has_work()) {
        if (retries.empty()) {
          wake.wait(lock);
        } else {
          wake.wait_until(lock, retries.begin()->first);
        }
        continue;
      }
      if (stopping) break;
      std::vector<EventPtr> batch = collect_sendable();
      if (batch.empty()) continue;
      lock.unlock();
      for (EventPtr& event : batch) send(std::move(event));
      lock.lock();
    }
    if (queued + retry_waiting + in_flight > 0) {
      spdlog::warn("locator webhook {}: stopping with {} events not delivered", log_url,
                   queued + retry_waiting + in_flight);
    }
  }

  void send(EventPtr event) {
    ++event->attempts;
    http::HttpRequest request;
    request.method = "POST";
    request.url = options.url;
    request.headers = request_headers;
    request.body = event->payload;
    request.timeout = options.timeout;
    client->submit(std::move(request), [weak = weak_from_this(), event](http::HttpResponse response) {
      if (auto self = weak.lock()) self->on_answer(event, response);
    });
  }

  void on_answer(const EventPtr& event, const http::HttpResponse& response) {
    std::lock_guard lock(mutex);
    --in_flight;
    Verdict verdict = judge(response);
    if (verdict == Verdict::Retry && (stopping || event->attempts >= options.max_attempts)) {
      verdict = Verdict::GiveUp;
    }
    switch (verdict) {
      case Verdict::Delivered:
        ++counters.sent;
        finish(event);
        break;
      case Verdict::Retry:
        ++counters.retried;
        ++retry_waiting;
        retries.emplace(SteadyClock::now() + backoff(event->attempts), event);
        if (auto held = retry_log.admit()) {
          spdlog::info("locator webhook {}: {} event of {} not delivered ({}); retry {} of {} ({} more retries "
                       "not logged)",
                       log_url, event_name(event->kind), http::printable(event->aors.front()),
                       outcome_text(response), event->attempts, options.max_attempts - 1, *held);
        }
        break;
      case Verdict::GiveUp:
        ++counters.failed;
        finish(event);
        if (stopping) break;  // counted in the "not delivered" line
        if (auto held = failure_log.admit()) {
          spdlog::warn("locator webhook {}: {} event of {} failed after {} attempt(s): {} ({} more failures "
                       "not logged; {} failed in all)",
                       log_url, event_name(event->kind), http::printable(event->aors.front()), event->attempts,
                       outcome_text(response), *held, counters.failed);
        }
        break;
    }
    wake.notify_one();
  }
};

LocatorWebhook::LocatorWebhook(LocatorWebhookOptions options) : options_(std::move(options)) {
  if (!options_.events.empty()) {
    for (auto event : {LocationEvent::Registered, LocationEvent::Unregistered, LocationEvent::Offline}) {
      wanted_[static_cast<int>(event)] =
          std::find(options_.events.begin(), options_.events.end(), event_name(event)) != options_.events.end();
    }
  }
  options_.max_attempts = std::max<uint32_t>(options_.max_attempts, 1);
  options_.queue_size = std::max<size_t>(options_.queue_size, 1);
  options_.max_concurrent = std::max<size_t>(options_.max_concurrent, 1);
}

std::shared_ptr<LocatorWebhook> LocatorWebhook::create(LocatorWebhookOptions options, std::string* error) {
  std::shared_ptr<LocatorWebhook> webhook(new LocatorWebhook(std::move(options)));
  webhook->state_ = std::make_shared<State>(webhook->options_);
  http::HttpClientOptions client_options;
  // Retries wait outside the client, so this bound is never the one that bites.
  client_options.max_in_flight = webhook->options_.max_concurrent + 1;
  client_options.name = "locator webhook";
  webhook->state_->client = http::HttpClient::create(std::move(client_options), error);
  if (!webhook->state_->client) return nullptr;
  webhook->state_->worker = std::thread([state = webhook->state_] { state->run(); });
  return webhook;
}

LocatorWebhook::~LocatorWebhook() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->worker.joinable()) state_->worker.join();
  state_->client.reset();  // answers what is in flight with "stopped"
}

bool LocatorWebhook::wants(LocationEvent event) const { return wanted_[static_cast<int>(event)]; }

void LocatorWebhook::on_registered(std::span<const Binding> bindings) {
  enqueue_each(LocationEvent::Registered, bindings);
}

void LocatorWebhook::on_unregistered(std::span<const Binding> bindings) {
  enqueue_each(LocationEvent::Unregistered, bindings);
}

void LocatorWebhook::enqueue_each(LocationEvent kind, std::span<const Binding> bindings) {
  if (!wants(kind)) return;
  const auto now = Clock::now();
  for (const Binding& b : bindings) {
    if (b.home_proxy.empty() && !options_.home_proxy.empty()) {
      Binding ours = b;
      ours.home_proxy = options_.home_proxy;
      enqueue(kind, {b.aor}, binding_event_payload(kind, ours, now));
    } else {
      enqueue(kind, {b.aor}, binding_event_payload(kind, b, now));
    }
  }
}

void LocatorWebhook::on_offline(const std::vector<Binding>& bindings) {
  if (!wants(LocationEvent::Offline) || bindings.empty()) return;
  std::string payload;
  if (options_.home_proxy.empty()) {
    payload = offline_payload(bindings, Clock::now());
  } else {
    std::vector<Binding> ours = bindings;
    for (Binding& b : ours) {
      if (b.home_proxy.empty()) b.home_proxy = options_.home_proxy;
    }
    payload = offline_payload(ours, Clock::now());
  }
  enqueue(LocationEvent::Offline, distinct_aors(bindings), std::move(payload));
}

void LocatorWebhook::enqueue(LocationEvent kind, std::vector<std::string> aors, std::string payload) {
  auto event = std::make_shared<Event>();
  event->kind = kind;
  event->aors = std::move(aors);
  event->payload = std::move(payload);
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    if (state_->queued >= options_.queue_size) state_->drop_oldest();
    event->seq = state_->next_seq++;
    for (const std::string& aor : event->aors) state_->lanes[aor].waiting.push_back(event);
    state_->arrival.push_back(event);
    ++state_->queued;
    for (const std::string& aor : event->aors) state_->list_lane(aor);
  }
  state_->wake.notify_one();
}

LocatorWebhookStats LocatorWebhook::stats() const {
  std::lock_guard lock(state_->mutex);
  LocatorWebhookStats out = state_->counters;
  out.queued = state_->queued;
  out.in_flight = state_->in_flight + state_->retry_waiting;
  return out;
}

}  // namespace cppbx::location
