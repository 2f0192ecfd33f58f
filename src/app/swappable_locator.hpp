// The locator seen by the registrar, the call module, the transport's
// closed-connection handler and the HTTP API, behind one indirection so the
// console's Apply (or SIGHUP) can put another locator in its place without
// stopping anything. Like SwappableBackend: each call takes its own
// shared_ptr to the locator current at that moment, so a lookup or update
// already running finishes on the old one.
//
// The observer (offline events) is kept here and handed to every locator
// put in place, so the webhook and the logs keep hearing offline bindings.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "location/locator.hpp"

namespace cppbx::app {

class SwappableLocator final : public location::Locator {
 public:
  explicit SwappableLocator(std::shared_ptr<location::Locator> initial) : current_(std::move(initial)) {}

  std::string_view type() const override { return current_.load()->type(); }
  void update(location::UpdateRequest request, std::function<void(location::UpdateResult)> done) override {
    current_.load()->update(std::move(request), std::move(done));
  }
  void lookup(const std::string& aor, std::function<void(location::LookupResult)> done) override {
    current_.load()->lookup(aor, std::move(done));
  }
  void list(location::ListRequest request, std::function<void(location::ListResult)> done) override {
    current_.load()->list(std::move(request), std::move(done));
  }
  void remove(std::string aor, std::string key, std::function<void(location::UpdateResult)> done) override {
    current_.load()->remove(std::move(aor), std::move(key), std::move(done));
  }
  void connection_closed(transport::ConnectionId connection) override {
    current_.load()->connection_closed(connection);
  }
  void set_observer(std::shared_ptr<location::LocationObserver> observer) override {
    std::lock_guard lock(observer_mutex_);
    observer_ = observer;
    current_.load()->set_observer(std::move(observer));
  }
  size_t binding_count() const override { return current_.load()->binding_count(); }
  void start() override { current_.load()->start(); }
  void stop() override { current_.load()->stop(); }

  std::shared_ptr<location::Locator> current() const { return current_.load(); }
  // Puts `next` (already started) in place and returns the previous one,
  // which the caller stops once calls still running on it are done.
  std::shared_ptr<location::Locator> replace(std::shared_ptr<location::Locator> next) {
    {
      std::lock_guard lock(observer_mutex_);
      if (observer_) next->set_observer(observer_);
    }
    return current_.exchange(std::move(next));
  }

 private:
  std::atomic<std::shared_ptr<location::Locator>> current_;
  std::mutex observer_mutex_;
  std::shared_ptr<location::LocationObserver> observer_;
};

}  // namespace cppbx::app
