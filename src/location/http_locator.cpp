// See http_locator.hpp for the protocol and the design. Threads: callbacks
// arrive on the HTTP client's thread; the sweeper runs on the io_context.
// State is shared with both through shared/weak pointers, so destroying the
// locator while requests are in flight is safe (they answer "stopped").
//
// Offline reports, each binding once: a binding this node registered is
// reported by whoever takes it out of `own` (the sweeper, a closed
// connection, or an update that finds it expired), under one lock. An
// update also reports expired bindings of other nodes the service gave
// back (it removed them). A flow may close while its REGISTER is being
// POSTed: the close is remembered (recently_closed.hpp) and the update
// removes what it just stored over that flow and reports it offline.
#include "location/http_locator.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "location/binding_listing.hpp"
#include "location/binding_rules.hpp"
#include "location/location_payload.hpp"
#include "location/recently_closed.hpp"

namespace cppbx::location {
namespace {

// The bindings of one GET answer; ok=false with a reason when the answer is
// not usable. Malformed entries are skipped (logged) rather than failing the
// AoR forever.
struct Fetched {
  bool ok = false;
  std::string detail;
  std::vector<Binding> bindings;  // oldest modification first
};

Fetched parse_locations(const http::HttpResponse& response, const std::string& aor, const std::string& log_url) {
  Fetched out;
  if (!response.answered()) {
    out.detail = response.detail;
    return out;
  }
  if (response.status == 404) {
    out.ok = true;
    return out;
  }
  if (response.status != 200) {
    out.detail = "lookup answered HTTP status " + std::to_string(response.status);
    return out;
  }
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded() || !json.is_array()) {
    out.detail = "lookup answer is not a JSON array";
    return out;
  }
  const auto now = Clock::now();
  for (const auto& item : json) {
    std::string why;
    auto binding = binding_from_json(item, now, &why);
    if (!binding) {
      spdlog::warn("http locator {}: a location of {} skipped: {}", log_url, http::printable(aor), why);
      continue;
    }
    if (binding->aor != aor) continue;  // not what we asked for
    out.bindings.push_back(std::move(*binding));
  }
  std::stable_sort(out.bindings.begin(), out.bindings.end(),
                   [](const Binding& a, const Binding& b) { return a.last_modified < b.last_modified; });
  out.ok = true;
  return out;
}

// A listing answer: {"total": n, "locations": [...]} holds one page the
// service cut; a bare array is the whole matching list, paged here. A service
// without listing answers 404, 405 or 501.
ListResult parse_listing(const http::HttpResponse& response, const ListRequest& request, const std::string& log_url) {
  ListResult out;
  out.ok = false;
  if (!response.answered()) {
    out.detail = response.detail;
    return out;
  }
  if (response.status == 404 || response.status == 405 || response.status == 501) {
    out.detail = "listing not supported by the registry service (HTTP " + std::to_string(response.status) + ")";
    return out;
  }
  if (response.status != 200) {
    out.detail = "listing answered HTTP status " + std::to_string(response.status);
    return out;
  }
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  const bool paged = json.is_object() && json.contains("locations") && json["locations"].is_array() &&
                     json.contains("total") && json["total"].is_number_unsigned();
  if (!paged && !json.is_array()) {
    out.detail = "listing answer is neither {\"total\", \"locations\"} nor a JSON array";
    return out;
  }
  const auto now = Clock::now();
  std::vector<Binding> bindings;
  for (const auto& item : paged ? json["locations"] : json) {
    std::string why;
    auto binding = binding_from_json(item, now, &why);
    if (!binding) {
      spdlog::warn("http locator {}: a listed location skipped: {}", log_url, why);
      continue;
    }
    bindings.push_back(std::move(*binding));
  }
  if (!paged) return page_of(std::move(bindings), request, now);
  ListRequest whole_page = request;  // the service already paged: order and drop the expired only
  whole_page.offset = 0;
  whole_page.limit = 0;
  out = page_of(std::move(bindings), whole_page, now);
  out.total = json["total"].get<size_t>();
  return out;
}

std::string own_key(const Binding& binding) { return binding.aor + '\n' + binding.key(); }

}  // namespace

struct HttpLocator::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, HttpLocatorOptions o)
      : options(std::move(o)), log_url(http::url_for_logs(options.url)), timer(io) {}

  struct PendingUpdate {
    UpdateRequest request;
    std::function<void(UpdateResult)> done;
  };

  const HttpLocatorOptions options;
  const std::string log_url;

  mutable std::mutex mutex;
  std::shared_ptr<http::HttpClient> client;
  std::shared_ptr<LocationObserver> observer;
  std::unordered_map<std::string, std::deque<PendingUpdate>> chains;  // front is running
  size_t pending_updates = 0;
  std::map<std::string, Binding> own;  // bindings this node registered, by aor + key
  RecentlyClosedConnections closed;    // this node's flows closed lately
  boost::asio::steady_timer timer;
  bool sweeping = false;

  std::shared_ptr<http::HttpClient> current_client() const {
    std::lock_guard lock(mutex);
    return client;
  }

  void notify_offline(const std::vector<Binding>& gone) {
    if (gone.empty()) return;
    std::shared_ptr<LocationObserver> current;
    {
      std::lock_guard lock(mutex);
      current = observer;
    }
    if (current) current->on_offline(gone);
  }

  http::HttpRequest request(std::string method, std::string url, std::string body = {}) const {
    http::HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.headers = options.headers;
    r.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    r.timeout = options.timeout;
    return r;
  }

  void fetch(const std::string& aor, std::function<void(Fetched)> done) {
    auto http = current_client();
    if (!http) {
      done(Fetched{false, "http locator not started", {}});
      return;
    }
    std::string url = http::url_with_query(options.url, http::form_encode({{"aor", aor}}));
    http->submit(request("GET", std::move(url)), [aor, log_url = log_url, done = std::move(done)](
                                                     http::HttpResponse response) {
      done(parse_locations(response, aor, log_url));
    });
  }

  // POSTs payloads[index..] one after the other; done(error) with an empty
  // error when all were accepted.
  void post_in_order(std::shared_ptr<std::vector<std::string>> payloads, size_t index,
                     std::function<void(std::string)> done) {
    if (index >= payloads->size()) {
      done({});
      return;
    }
    auto http = current_client();
    if (!http) {
      done("http locator not started");
      return;
    }
    std::string body = (*payloads)[index];
    http->submit(request("POST", options.url, std::move(body)),
                 [weak = weak_from_this(), payloads, index, done = std::move(done)](http::HttpResponse response) {
                   if (!response.answered() || response.status < 200 || response.status >= 300) {
                     done(response.answered() ? "change answered HTTP status " + std::to_string(response.status)
                                              : response.detail);
                     return;
                   }
                   auto self = weak.lock();
                   if (!self) {
                     done("stopped");
                     return;
                   }
                   self->post_in_order(payloads, index + 1, std::move(done));
                 });
  }

  // --- updates, one chain per AoR -------------------------------------------

  void enqueue_update(UpdateRequest request, std::function<void(UpdateResult)> done) {
    bool first = false;
    bool refused = false;
    std::string aor = request.aor;
    {
      std::lock_guard lock(mutex);
      if (pending_updates >= options.max_in_flight) {
        refused = true;
      } else {
        ++pending_updates;
        auto& chain = chains[aor];
        chain.push_back({std::move(request), std::move(done)});
        first = chain.size() == 1;
      }
    }
    if (refused) {
      spdlog::warn("http locator {}: update of {} refused: {} updates already in flight", log_url,
                   http::printable(aor), options.max_in_flight);
      done(error_result("too many updates in flight"));
      return;
    }
    if (first) run_front(aor);
  }

  void run_front(const std::string& aor) {
    UpdateRequest request;
    {
      std::lock_guard lock(mutex);
      request = chains[aor].front().request;
    }
    fetch(aor, [weak = weak_from_this(), aor, request = std::move(request)](Fetched fetched) mutable {
      auto self = weak.lock();
      if (!self) return;  // the pending callback is answered by the destructor
      self->apply_and_store(aor, std::move(request), std::move(fetched));
    });
  }

  void apply_and_store(const std::string& aor, UpdateRequest request, Fetched fetched) {
    if (!fetched.ok) {
      finish(aor, error_result("registry lookup failed: " + fetched.detail), {});
      return;
    }
    for (Binding& upsert : request.upserts) upsert.home_proxy = options.home_proxy;
    BindingRules rules;
    rules.max_bindings_per_aor = options.max_bindings_per_aor;
    const auto now = Clock::now();
    auto update = std::make_shared<BindingUpdate>(
        apply_binding_rules(std::move(fetched.bindings), std::move(request), rules, now));
    if (update->status != UpdateStatus::Ok) {
      finish(aor, update->to_result(), {});
      return;
    }
    auto expired = std::make_shared<std::vector<Binding>>(expired_for(aor, *update, now));
    auto payloads = std::make_shared<std::vector<std::string>>();
    if (!expired->empty()) payloads->push_back(offline_payload(*expired, now, true));
    for (const Binding& b : update->removed) {
      payloads->push_back(binding_event_payload(LocationEvent::Unregistered, b, now, true));
    }
    for (const Binding& b : update->registered()) {
      payloads->push_back(binding_event_payload(LocationEvent::Registered, b, now, true));
    }
    post_in_order(payloads, 0, [weak = weak_from_this(), aor, update, expired](std::string error) {
      auto self = weak.lock();
      if (!self) return;
      if (!error.empty()) {
        self->finish(aor, error_result("registry did not accept the change: " + error), {});
        return;
      }
      Remembered remembered = self->remember(*update, *expired);
      std::vector<Binding> offline = std::move(remembered.expired);
      if (remembered.closed_meanwhile.empty()) {
        self->finish(aor, update->to_result(), std::move(offline));
        return;
      }
      // Before the AoR's next update reads the service, which must not find
      // them; the registration itself succeeded whatever this POST answers.
      for (const Binding& b : remembered.closed_meanwhile) offline.push_back(b);
      self->post_offline(remembered.closed_meanwhile,
                         [weak = self->weak_from_this(), aor, update, offline = std::move(offline)]() mutable {
                           if (auto again = weak.lock()) again->finish(aor, update->to_result(), std::move(offline));
                         });
    });
  }

  // What an update reports expired: what the rules found expired in the
  // service's answer, and this node's bindings of the AoR whose expiry
  // passed (a service may leave those out of its answer), also when the
  // update registers their key anew (as the rules report a found one).
  std::vector<Binding> expired_for(const std::string& aor, const BindingUpdate& update, Clock::time_point now) {
    std::vector<Binding> expired = update.expired;
    std::set<std::string> listed;
    for (const Binding& b : update.expired) listed.insert(own_key(b));
    std::lock_guard lock(mutex);
    for (auto it = own.lower_bound(aor + '\n'); it != own.end() && it->second.aor == aor; ++it) {
      if (it->second.expired(now) && listed.insert(it->first).second) expired.push_back(it->second);
    }
    return expired;
  }

  static UpdateResult error_result(std::string detail) {
    UpdateResult result;
    result.status = UpdateStatus::Error;
    result.detail = std::move(detail);
    return result;
  }

  void finish(const std::string& aor, UpdateResult result, std::vector<Binding> offline) {
    if (result.status == UpdateStatus::Error) {
      spdlog::warn("http locator {}: update of {} failed: {}", log_url, http::printable(aor), result.detail);
    }
    std::function<void(UpdateResult)> done;
    bool more = false;
    {
      std::lock_guard lock(mutex);
      auto it = chains.find(aor);
      if (it == chains.end() || it->second.empty()) return;
      done = std::move(it->second.front().done);
      it->second.pop_front();
      --pending_updates;
      more = !it->second.empty();
      if (!more) chains.erase(it);
    }
    notify_offline(offline);
    done(std::move(result));
    if (more) run_front(aor);
  }

  struct Remembered {
    std::vector<Binding> expired;           // to report: taken out of `own` here, or another node's
    std::vector<Binding> closed_meanwhile;  // just registered over a flow already closed
  };

  // The bindings this node is home for, for closed connections and expiry.
  // Decided under the lock connection_closed() records closes with, so each
  // binding is reported by exactly one of them.
  Remembered remember(const BindingUpdate& update, const std::vector<Binding>& expired) {
    Remembered out;
    std::lock_guard lock(mutex);
    for (const auto* list : {&update.removed, &update.replaced}) {
      for (const Binding& b : *list) own.erase(own_key(b));
    }
    for (const Binding& b : expired) {
      const bool taken = own.erase(own_key(b)) > 0;
      if (taken || b.home_proxy != options.home_proxy) out.expired.push_back(b);
    }
    for (const Binding& b : update.registered()) {
      if (closed.contains(b.connection)) {
        own.erase(own_key(b));
        out.closed_meanwhile.push_back(b);
      } else {
        own[own_key(b)] = b;
      }
    }
    return out;
  }

  // One offline event for `offline`, best effort (a failure is logged);
  // `then` runs once it is answered.
  void post_offline(const std::vector<Binding>& offline, std::function<void()> then = {}) {
    auto payloads = std::make_shared<std::vector<std::string>>();
    payloads->push_back(offline_payload(offline, Clock::now(), true));
    post_in_order(payloads, 0,
                  [log_url = log_url, count = offline.size(), then = std::move(then)](std::string error) {
                    if (!error.empty()) {
                      spdlog::warn("http locator {}: offline event for {} bindings not accepted: {}", log_url,
                                   count, error);
                    }
                    if (then) then();
                  });
  }

  // Removes this node's bindings matching `gone` from `own`, POSTs them as
  // one offline event (best effort) and reports them.
  template <typename Predicate>
  size_t take_offline(Predicate gone) {
    std::vector<Binding> offline;
    {
      std::lock_guard lock(mutex);
      for (auto it = own.begin(); it != own.end();) {
        if (gone(it->second)) {
          offline.push_back(std::move(it->second));
          it = own.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (offline.empty()) return 0;
    post_offline(offline);
    notify_offline(offline);
    return offline.size();
  }

  void schedule_sweep_locked() {
    timer.expires_after(options.sweep_interval);
    timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
      if (error) return;
      auto self = weak.lock();
      if (!self) return;
      const auto now = Clock::now();
      self->take_offline([&](const Binding& b) { return b.expired(now); });
      std::lock_guard lock(self->mutex);
      if (self->sweeping) self->schedule_sweep_locked();
    });
  }
};

HttpLocator::HttpLocator(boost::asio::io_context& io, HttpLocatorOptions options)
    : state_(std::make_shared<State>(io, std::move(options))) {}

HttpLocator::~HttpLocator() { stop(); }

void HttpLocator::start() {
  std::lock_guard lock(state_->mutex);
  if (!state_->client) {
    http::HttpClientOptions client_options;
    client_options.max_in_flight = state_->options.max_in_flight;
    client_options.max_body_bytes = state_->options.max_body_bytes;
    client_options.name = "http locator";
    std::string error;
    state_->client = http::HttpClient::create(std::move(client_options), &error);
    if (!state_->client) spdlog::error("http locator {}: {}", state_->log_url, error);
  }
  if (!state_->sweeping) {
    state_->sweeping = true;
    state_->schedule_sweep_locked();
  }
}

void HttpLocator::stop() {
  std::shared_ptr<http::HttpClient> client;
  {
    std::lock_guard lock(state_->mutex);
    state_->sweeping = false;
    state_->timer.cancel();
    client = std::move(state_->client);
  }
  client.reset();  // pending requests answer "stopped"; updates then fail with Error
  // Updates whose callbacks could no longer reach the state are answered here.
  std::vector<State::PendingUpdate> orphans;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& [aor, chain] : state_->chains) {
      for (auto& pending : chain) orphans.push_back(std::move(pending));
    }
    state_->chains.clear();
    state_->pending_updates = 0;
  }
  for (auto& pending : orphans) {
    if (pending.done) pending.done(State::error_result("http locator stopped"));
  }
}

void HttpLocator::update(UpdateRequest request, std::function<void(UpdateResult)> done) {
  state_->enqueue_update(std::move(request), std::move(done));
}

void HttpLocator::lookup(const std::string& aor, std::function<void(LookupResult)> done) {
  state_->fetch(aor, [log_url = state_->log_url, aor, done = std::move(done)](Fetched fetched) {
    LookupResult result;
    result.ok = fetched.ok;
    result.detail = fetched.detail;
    if (!fetched.ok) {
      spdlog::warn("http locator {}: lookup of {} failed: {}", log_url, http::printable(aor), fetched.detail);
    }
    const auto now = Clock::now();
    for (Binding& b : fetched.bindings) {
      if (!b.expired(now)) result.bindings.push_back(std::move(b));
    }
    done(std::move(result));
  });
}

void HttpLocator::list(ListRequest request, std::function<void(ListResult)> done) {
  auto http = state_->current_client();
  if (!http) {
    ListResult failed;
    failed.ok = false;
    failed.detail = "http locator not started";
    return done(std::move(failed));
  }
  const std::string query = http::form_encode({{"list", "1"},
                                               {"aor_contains", request.aor_contains},
                                               {"offset", std::to_string(request.offset)},
                                               {"limit", std::to_string(request.limit)}});
  http->submit(state_->request("GET", http::url_with_query(state_->options.url, query)),
               [log_url = state_->log_url, request = std::move(request), done = std::move(done)](
                   http::HttpResponse response) {
                 ListResult result = parse_listing(response, request, log_url);
                 if (!result.ok) spdlog::warn("http locator {}: listing failed: {}", log_url, result.detail);
                 done(std::move(result));
               });
}

// Through the AoR's update chain, so it never interleaves with a REGISTER.
void HttpLocator::remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) {
  update(removal_request(std::move(aor), std::move(key)), std::move(done));
}

void HttpLocator::connection_closed(transport::ConnectionId connection) {
  if (connection == 0) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->closed.add(connection);  // for updates still in flight over it
  }
  state_->take_offline([connection](const Binding& b) { return b.connection == connection; });
}

void HttpLocator::set_observer(std::shared_ptr<LocationObserver> observer) {
  std::lock_guard lock(state_->mutex);
  state_->observer = std::move(observer);
}

size_t HttpLocator::binding_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->own.size();
}

size_t HttpLocator::sweep_now() {
  const auto now = Clock::now();
  return state_->take_offline([&](const Binding& b) { return b.expired(now); });
}

}  // namespace cppbx::location
