// See settings_applier.hpp. The waits here (locator probe, listing, copying)
// use futures with deadlines: the locators answer on their own threads or
// the server's io_context, never on the thread that runs apply().
#include "app/settings_applier.hpp"

#include <chrono>
#include <condition_variable>
#include <future>
#include <list>
#include <map>
#include <set>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/module_factory.hpp"
#include "common/random.hpp"

namespace cppbx::app {
namespace {

using location::Binding;
using location::Locator;
using location::UpdateRequest;
using location::UpdateStatus;

constexpr std::chrono::seconds kProbeWait{5};
constexpr std::chrono::seconds kListWait{15};
constexpr std::chrono::seconds kCopyWait{30};
constexpr size_t kCopyWindow = 16;  // updates in flight at once: below every locator's bound
constexpr std::chrono::seconds kLocatorGrace{2};
constexpr std::chrono::seconds kWebhookDrainMax{10};
constexpr std::chrono::milliseconds kWebhookDrainPoll{200};
// Bindings changed this long before the first listing are offered again
// after the swap: stores may keep whole seconds, and offering one twice is
// harmless (its own Call-ID/CSeq make the second an out-of-order no-op).
constexpr std::chrono::seconds kChangedMargin{5};

template <typename Result>
std::optional<Result> wait_answer(std::future<Result>& future, std::chrono::seconds limit) {
  if (future.wait_for(limit) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// One lookup of an AoR that cannot exist: proves the store answers.
std::string probe(Locator& locator) {
  auto promise = std::make_shared<std::promise<location::LookupResult>>();
  auto future = promise->get_future();
  locator.lookup("sip:cppbx-apply-probe-" + random::hex(8) + "@invalid",
                 [promise](location::LookupResult result) { promise->set_value(std::move(result)); });
  auto answer = wait_answer(future, kProbeWait);
  if (!answer) return "no answer within 5 s";
  if (!answer->ok) return answer->detail.empty() ? "the store did not answer" : answer->detail;
  return {};
}

std::optional<std::vector<Binding>> list_all(Locator& locator, std::string& detail) {
  auto promise = std::make_shared<std::promise<location::ListResult>>();
  auto future = promise->get_future();
  location::ListRequest request;
  request.limit = 0;
  locator.list(request, [promise](location::ListResult result) { promise->set_value(std::move(result)); });
  auto answer = wait_answer(future, kListWait);
  if (!answer) {
    detail = "listing the old locator's bindings took too long";
    return std::nullopt;
  }
  if (!answer->ok) {
    detail = "cannot list the old locator's bindings: " + answer->detail;
    return std::nullopt;
  }
  return std::move(answer->bindings);
}

std::string binding_id(const Binding& binding) { return binding.aor + '\n' + binding.key(); }

// Sends `requests` to `target` with at most kCopyWindow in flight; records
// the bindings of each accepted request in `carried`. Returns how many
// requests failed (OutOfOrder is no failure: the target holds a newer one).
size_t send_updates(Locator& target, std::vector<UpdateRequest> requests, std::set<std::string>& carried) {
  struct Progress {
    std::mutex mutex;
    std::condition_variable changed;
    size_t in_flight = 0;
    size_t failed = 0;
    std::vector<std::string> accepted;
  };
  auto progress = std::make_shared<Progress>();
  const auto deadline = std::chrono::steady_clock::now() + kCopyWait;
  size_t sent = 0;
  for (auto& request : requests) {
    {
      std::unique_lock lock(progress->mutex);
      // The store stopped answering: give up on the rest (counted as failed).
      if (!progress->changed.wait_until(lock, deadline, [&] { return progress->in_flight < kCopyWindow; })) break;
      ++progress->in_flight;
    }
    ++sent;
    std::vector<std::string> ids;
    for (const auto& binding : request.upserts) ids.push_back(binding_id(binding));
    target.update(std::move(request), [progress, ids = std::move(ids)](location::UpdateResult result) {
      std::lock_guard lock(progress->mutex);
      --progress->in_flight;
      if (result.status == UpdateStatus::Ok) {
        progress->accepted.insert(progress->accepted.end(), ids.begin(), ids.end());
      } else if (result.status == UpdateStatus::Error) {
        ++progress->failed;
      }
      progress->changed.notify_all();
    });
  }
  std::unique_lock lock(progress->mutex);
  progress->changed.wait_until(lock, deadline, [&] { return progress->in_flight == 0; });
  carried.insert(progress->accepted.begin(), progress->accepted.end());
  return progress->failed + progress->in_flight + (requests.size() - sent);
}

// The bindings whose flow this node holds (a shared store lists every
// node's; another node's are not this node's to copy).
std::vector<Binding> held_by_this_node(std::vector<Binding> bindings, const std::string& home_proxy) {
  std::erase_if(bindings, [&](const Binding& binding) {
    return !binding.home_proxy.empty() && binding.home_proxy != home_proxy;
  });
  return bindings;
}

// One request per AoR, without Call-ID: the bindings keep their own.
std::vector<UpdateRequest> whole_aors(const std::vector<Binding>& bindings) {
  std::map<std::string, UpdateRequest> by_aor;
  for (const auto& binding : bindings) {
    UpdateRequest& request = by_aor[binding.aor];
    request.aor = binding.aor;
    request.upserts.push_back(binding);
  }
  std::vector<UpdateRequest> requests;
  for (auto& [aor, request] : by_aor) requests.push_back(std::move(request));
  return requests;
}

// One request per binding, with its Call-ID and CSeq: refused as out of
// order when the target already has it or something newer from that phone.
std::vector<UpdateRequest> changed_since(const std::vector<Binding>& bindings, location::Clock::time_point since) {
  std::vector<UpdateRequest> requests;
  for (const auto& binding : bindings) {
    if (binding.last_modified < since) continue;
    UpdateRequest request;
    request.aor = binding.aor;
    request.call_id = binding.call_id;
    request.cseq = binding.cseq;
    request.upserts.push_back(binding);
    requests.push_back(std::move(request));
  }
  return requests;
}

config::Diagnostic problem(std::string key, std::string message) {
  config::Diagnostic diagnostic;
  diagnostic.key = std::move(key);
  diagnostic.message = std::move(message);
  return diagnostic;
}

}  // namespace

location::LocatorWebhookOptions webhook_options(const config::LocatorWebhookConfig& config, std::string home_proxy) {
  location::LocatorWebhookOptions options;
  options.home_proxy = std::move(home_proxy);
  options.url = config.url;
  options.events = config.events;
  options.timeout = std::chrono::milliseconds(config.timeout_ms);
  options.headers = config.headers;
  options.max_attempts = config.max_attempts;
  options.queue_size = config.queue_size;
  return options;
}

bool same_locator(const config::LocatorConfig& a, const config::LocatorConfig& b) {
  return config::locator_as_table(a) == config::locator_as_table(b);
}

// Two locator settings that reach the same store and differ only in tuning
// (timeouts, pool sizes): the bindings are in it already, and copying them
// would rewrite other nodes' bindings as this node's.
bool same_store(const config::LocatorConfig& a, const config::LocatorConfig& b, const std::string& database_url) {
  if (a.type != b.type || a.type == "memory") return false;
  auto text = [](const config::LocatorConfig& locator, const char* key, const std::string& fallback) {
    return locator.table[key].value<std::string>().value_or(fallback);
  };
  if (a.type == "database") return text(a, "url", database_url) == text(b, "url", database_url);
  if (a.type == "redis") return text(a, "url", "") == text(b, "url", "") && text(a, "key_prefix", "") == text(b, "key_prefix", "");
  if (a.type == "http") return text(a, "url", "") == text(b, "url", "");
  return false;
}

bool same_webhook(const std::optional<config::LocatorWebhookConfig>& a,
                  const std::optional<config::LocatorWebhookConfig>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->url == b->url && a->events == b->events && a->timeout_ms == b->timeout_ms &&
         a->headers == b->headers && a->max_attempts == b->max_attempts && a->queue_size == b->queue_size;
}

// Old locators and webhooks on their way out (settings_applier.hpp).
struct SettingsApplier::Retiring : std::enable_shared_from_this<Retiring> {
  struct Entry {
    explicit Entry(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::shared_ptr<Locator> locator;
    std::shared_ptr<location::LocatorWebhook> webhook;
    std::chrono::steady_clock::time_point deadline;
  };

  explicit Retiring(boost::asio::io_context& io_in) : io(io_in) {}

  void add(std::shared_ptr<Locator> locator, std::shared_ptr<location::LocatorWebhook> webhook) {
    auto entry = std::make_shared<Entry>(io);
    entry->locator = std::move(locator);
    entry->webhook = std::move(webhook);
    entry->deadline = std::chrono::steady_clock::now() + (entry->webhook ? kWebhookDrainMax : kLocatorGrace);
    {
      std::lock_guard lock(mutex);
      entries.push_back(entry);
    }
    wait(entry, entry->webhook ? kWebhookDrainPoll : std::chrono::milliseconds(kLocatorGrace));
  }

  void wait(const std::shared_ptr<Entry>& entry, std::chrono::milliseconds delay) {
    entry->timer.expires_after(delay);
    std::weak_ptr<Retiring> self = shared_from_this();
    entry->timer.async_wait([self, entry](const boost::system::error_code& error) {
      auto retiring = self.lock();
      if (!error && retiring) retiring->check(entry);
    });
  }

  void check(const std::shared_ptr<Entry>& entry) {
    if (entry->webhook && std::chrono::steady_clock::now() < entry->deadline) {
      auto stats = entry->webhook->stats();
      if (stats.queued + stats.in_flight > 0) return wait(entry, kWebhookDrainPoll);
    }
    finish(entry);
  }

  void finish(const std::shared_ptr<Entry>& entry) {
    {
      std::lock_guard lock(mutex);
      entries.remove(entry);
    }
    if (entry->locator) entry->locator->stop();
    if (entry->webhook) {
      auto stats = entry->webhook->stats();
      spdlog::info("locator webhook: previous one retired ({} sent, {} failed, {} left undelivered)", stats.sent,
                   stats.failed, stats.queued + stats.in_flight);
    }
  }

  void finish_all() {
    std::list<std::shared_ptr<Entry>> pending;
    {
      std::lock_guard lock(mutex);
      pending.swap(entries);
    }
    for (auto& entry : pending) {
      entry->timer.cancel();
      if (entry->locator) entry->locator->stop();
    }
  }

  boost::asio::io_context& io;
  std::mutex mutex;
  std::list<std::shared_ptr<Entry>> entries;
};

struct SettingsApplier::Built {
  std::shared_ptr<users::UserBackend> chain;
  std::shared_ptr<Locator> locator;  // null: the locator is unchanged
  bool same_store = false;           // the new locator reaches the old one's store
  std::set<std::string> carried;     // bindings copied into the new locator
  location::Clock::time_point listed_at;  // minus kChangedMargin
  bool webhook_changed = false;
  std::shared_ptr<location::LocatorWebhook> webhook;  // the new one (null: none)

  void discard() {
    if (locator) locator->stop();
    locator.reset();
    webhook.reset();
    chain.reset();
  }
};

SettingsApplier::SettingsApplier(SettingsTargets targets, config::Config running)
    : targets_(std::move(targets)), running_(std::move(running)),
      retiring_(std::make_shared<Retiring>(targets_.io)) {}

SettingsApplier::~SettingsApplier() { retire_now(); }

config::Config SettingsApplier::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

void SettingsApplier::retire_now() { retiring_->finish_all(); }

http_api::SettingsApplyResult SettingsApplier::apply(config::Config proposed, bool save) {
  std::lock_guard lock(mutex_);
  http_api::SettingsApplyResult result;
  Built built;
  if (!build(proposed, built, result)) {
    result.outcome = http_api::SettingsApplyResult::Outcome::Invalid;
    if (result.error.empty()) result.error = "invalid settings";
    return result;
  }
  if (save) {
    std::string error;
    if (!config::write_overlay_file(proposed, error)) {
      built.discard();
      result.outcome = http_api::SettingsApplyResult::Outcome::NotSaved;
      result.error = "settings not saved, nothing applied: " + error;
      spdlog::error("settings: {}", result.error);
      return result;
    }
    result.file = config::overlay_path(proposed);
  }
  swap_in(built, proposed, result);
  running_.proxy.realms = proposed.proxy.realms;
  running_.proxy.user_backends = proposed.proxy.user_backends;
  running_.proxy.locator = proposed.proxy.locator;
  running_.proxy.locator_webhook = proposed.proxy.locator_webhook;
  result.outcome = http_api::SettingsApplyResult::Outcome::Applied;
  result.applied = running_;
  if (targets_.publish) targets_.publish(running_);
  return result;
}

bool SettingsApplier::build(const config::Config& proposed, Built& built, http_api::SettingsApplyResult& result) {
  config::Diagnostics diagnostics;
  built.chain = build_user_backends(proposed, diagnostics);
  if (!same_locator(running_.proxy.locator, proposed.proxy.locator) && !diagnostics.has_errors()) {
    built.locator = make_locator(proposed.proxy.locator, {targets_.io, targets_.database_url, targets_.home_proxy},
                                 diagnostics);
  }
  for (const auto& item : diagnostics.all()) {
    if (item.severity == config::Diagnostic::Severity::Error) result.problems.push_back(item);
    else result.warnings.push_back(item.key + ": " + item.message);
  }
  if (diagnostics.has_errors() || !built.chain) {
    built.discard();
    return false;
  }
  if (built.locator) {
    built.locator->start();
    if (std::string failure = probe(*built.locator); !failure.empty()) {
      built.discard();
      result.error = "the new locator cannot be used";
      result.problems.push_back(problem("proxy.locator", "the new locator does not answer: " + failure));
      return false;
    }
    built.same_store = same_store(running_.proxy.locator, proposed.proxy.locator, targets_.database_url);
    if (!built.same_store && !carry_bindings(built, result)) {
      built.discard();
      return false;
    }
  }
  built.webhook_changed = !same_webhook(running_.proxy.locator_webhook, proposed.proxy.locator_webhook);
  if (built.webhook_changed && proposed.proxy.locator_webhook) {
    std::string error;
    built.webhook = location::LocatorWebhook::create(
        webhook_options(*proposed.proxy.locator_webhook, targets_.home_proxy), &error);
    if (!built.webhook) {
      built.discard();
      result.problems.push_back(problem("proxy.locator_webhook", error));
      return false;
    }
  }
  return true;
}

// Before anything is saved or swapped: a locator that cannot hand over its
// registrations is not replaced (the phones would be unreachable until they
// register again), and neither is one whose bindings do not all arrive.
bool SettingsApplier::carry_bindings(Built& built, http_api::SettingsApplyResult& result) {
  std::string detail;
  built.listed_at = location::Clock::now() - kChangedMargin;
  auto bindings = list_all(*targets_.locator->current(), detail);
  if (!bindings) {
    result.error = "the registrations cannot be carried over to the new locator";
    result.problems.push_back(problem("proxy.locator", detail + "; nothing was changed (change the locator in the "
                                                                "configuration file and restart instead)"));
    return false;
  }
  auto own = held_by_this_node(std::move(*bindings), targets_.home_proxy);
  auto requests = whole_aors(own);
  const size_t aors = requests.size();
  if (size_t failed = send_updates(*built.locator, std::move(requests), built.carried); failed > 0) {
    result.error = "the registrations cannot be carried over to the new locator";
    result.problems.push_back(problem(
        "proxy.locator",
        fmt::format("{} of {} AoRs could not be copied to the new locator; nothing was changed", failed, aors)));
    return false;
  }
  spdlog::info("locator: {} bindings copied to the new {} locator", own.size(), built.locator->type());
  return true;
}

void SettingsApplier::swap_in(Built& built, const config::Config& proposed, http_api::SettingsApplyResult& result) {
  targets_.users->replace(built.chain);
  targets_.identity->set_realms(proposed.proxy.realms);
  if (built.webhook_changed) {
    auto previous = targets_.webhook->replace(built.webhook);
    if (previous) retiring_->add(nullptr, std::move(previous));
    if (built.webhook) spdlog::info("locator webhook: events now to {}", http::url_for_logs(built.webhook->options().url));
    else spdlog::info("locator webhook: none any more");
  }
  if (built.locator) {
    auto old_locator = targets_.locator->current();
    targets_.locator->replace(built.locator);
    if (!built.same_store) {
      // REGISTERs that reached the old locator while the copy ran.
      std::string detail;
      size_t failed = 0;
      if (auto again = list_all(*old_locator, detail)) {
        failed = send_updates(*built.locator, changed_since(held_by_this_node(std::move(*again), targets_.home_proxy), built.listed_at),
                              built.carried);
      }
      if (!detail.empty()) result.warnings.push_back(detail);
      if (failed > 0) {
        result.warnings.push_back(fmt::format("{} bindings changed during the copy did not reach the new locator", failed));
      }
    }
    result.locator_bindings_carried = built.carried.size();
    retiring_->add(std::move(old_locator), nullptr);
    spdlog::info("locator: now {} ({})", built.locator->type(),
                 built.same_store ? std::string("same store, nothing to carry over")
                                  : fmt::format("{} bindings carried over", built.carried.size()));
  }
  spdlog::info("settings applied: {} user backends, {} realms, locator {}, webhook {}",
               proposed.proxy.user_backends.size(), proposed.proxy.realms.size(), proposed.proxy.locator.type,
               proposed.proxy.locator_webhook ? "on" : "off");
}

}  // namespace cppbx::app
