// Where the registrar (registered / unregistered) and the locator's offline
// fan-out report to: the locator webhook in force, or nobody. One relay is
// wired at start-up; the console's Apply (or SIGHUP) swaps the webhook behind
// it, so neither the registrar nor the locator needs to be told. An event
// reported while the swap happens goes to the old or the new webhook, whole.
#pragma once

#include <atomic>
#include <memory>

#include "location/events.hpp"
#include "location/locator.hpp"
#include "location/locator_webhook.hpp"

namespace cppbx::app {

class WebhookRelay final : public location::RegistrationObserver, public location::LocationObserver {
 public:
  explicit WebhookRelay(std::shared_ptr<location::LocatorWebhook> initial) : current_(std::move(initial)) {}

  void on_registered(std::span<const location::Binding> bindings) override {
    if (auto webhook = current_.load()) webhook->on_registered(bindings);
  }
  void on_unregistered(std::span<const location::Binding> bindings) override {
    if (auto webhook = current_.load()) webhook->on_unregistered(bindings);
  }
  void on_offline(const std::vector<location::Binding>& bindings) override {
    if (auto webhook = current_.load()) webhook->on_offline(bindings);
  }

  // Null without [proxy.locator_webhook].
  std::shared_ptr<location::LocatorWebhook> current() const { return current_.load(); }
  // Returns the previous webhook (the caller lets it drain).
  std::shared_ptr<location::LocatorWebhook> replace(std::shared_ptr<location::LocatorWebhook> next) {
    return current_.exchange(std::move(next));
  }

 private:
  std::atomic<std::shared_ptr<location::LocatorWebhook>> current_;
};

}  // namespace cppbx::app
