// Applies new proxy settings (realms, user backends, locator, locator
// webhook) to a running server: the console's Apply and SIGHUP both come
// here, so there is one path for both.
//
// Design decisions:
// - Build everything first, swap last. The user backend chain, a changed
//   locator (started, then probed with one lookup) and a changed webhook are
//   built before anything running is touched; any failure leaves the server
//   exactly as it was, and with `save` nothing is written either. The
//   settings file is written after the build and before the swap, so a
//   failed write also changes nothing.
// - Swaps go through indirections wired once at start-up: SwappableBackend
//   (lookups in flight finish on the old chain), ServerIdentity::set_realms,
//   WebhookRelay, SwappableLocator. Registrations, transactions and calls
//   are never touched.
// - An unchanged locator is kept (same type, table and limits). A changed
//   one receives every current binding before it is swapped in (one update
//   per AoR, the bindings' own Call-ID and CSeq kept), then, once swapped,
//   the bindings the old locator changed during the copy are offered again
//   with their Call-ID/CSeq (a newer one already in the new locator wins).
//   Bindings removed from the old one during that short window stay until
//   they expire.
// - Retiring: the old locator is stopped after a grace of two seconds (calls
//   already running on it finish); an old webhook is kept until its queue
//   is empty or for at most ten seconds, so events already accepted are
//   still delivered. Both wait on the server's io_context timers, never
//   blocking a thread.
// - One apply at a time (a mutex): two Applies, or an Apply and a SIGHUP,
//   never interleave. apply() blocks (builds, probes, copies): call it on a
//   worker, never on a SIP or HTTP thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>

#include "app/locator_factory.hpp"
#include "app/swappable_backend.hpp"
#include "app/swappable_locator.hpp"
#include "app/webhook_relay.hpp"
#include "config/config.hpp"
#include "http_api/http_api.hpp"
#include "proxy/server_identity.hpp"

namespace cppbx::app {

struct SettingsTargets {
  boost::asio::io_context& io;  // the server's: locators run on it, retirement timers too
  std::string database_url;
  std::string home_proxy;
  std::shared_ptr<SwappableBackend> users;
  std::shared_ptr<proxy::ServerIdentity> identity;
  std::shared_ptr<SwappableLocator> locator;
  std::shared_ptr<WebhookRelay> webhook;
  // Told the configuration now running after each apply (the HTTP API).
  std::function<void(const config::Config&)> publish;
};

class SettingsApplier {
 public:
  SettingsApplier(SettingsTargets targets, config::Config running);
  ~SettingsApplier();
  SettingsApplier(const SettingsApplier&) = delete;
  SettingsApplier& operator=(const SettingsApplier&) = delete;

  // `proposed` is the running configuration with its four settings replaced
  // (already checked by the config loader). With `save`, the settings file
  // is written before the swap (the console's Apply); SIGHUP reads it.
  http_api::SettingsApplyResult apply(config::Config proposed, bool save);
  config::Config running() const;
  // Stops and releases retiring locators and webhooks at once (shutdown).
  void retire_now();

  struct Retiring;

 private:
  struct Built;
  bool build(const config::Config& proposed, Built& built, http_api::SettingsApplyResult& result);
  void swap_in(Built& built, const config::Config& proposed, http_api::SettingsApplyResult& result);
  bool carry_bindings(Built& built, http_api::SettingsApplyResult& result);
  void retire_later(std::shared_ptr<location::Locator> locator, std::shared_ptr<location::LocatorWebhook> webhook);

  SettingsTargets targets_;
  mutable std::mutex mutex_;  // one apply at a time; guards running_
  config::Config running_;
  std::shared_ptr<Retiring> retiring_;
};

// Webhook options from [proxy.locator_webhook] (shared with start-up).
location::LocatorWebhookOptions webhook_options(const config::LocatorWebhookConfig& config, std::string home_proxy);
bool same_locator(const config::LocatorConfig& a, const config::LocatorConfig& b);
bool same_webhook(const std::optional<config::LocatorWebhookConfig>& a,
                  const std::optional<config::LocatorWebhookConfig>& b);

}  // namespace cppbx::app
