// The "http" locator: an external web service owns the registry. The
// protocol is described in docs/locator.md ("HTTP locator protocol").
//
// - lookup(aor): GET <url>?aor=<percent-encoded AoR>, answered by a JSON
//   array of locations (the webhook's location object plus what rebuilds a
//   Binding, location_payload.hpp); 404 or [] means none.
// - update(): GET the AoR's current locations, apply the shared registration
//   rules (binding_rules.hpp), then POST each change to the same URL in the
//   webhook's payload shape, in this order: one offline event for locations
//   found expired, one unregistered event per removed binding, one registered
//   event per created or refreshed binding. The registrar gets its answer
//   only when every POST was accepted (2xx). If the GET or any POST fails
//   (connection error, timeout, non-2xx), update() answers Error (503 +
//   Retry-After) and the remaining POSTs are not sent; changes already
//   accepted stay at the service, and the phone's retry re-applies the
//   request (refreshes are idempotent by binding key).
// - Updates of one AoR run one after the other (a per-AoR chain), so two
//   REGISTERs of one user on this node never interleave their GET and POSTs.
//   At most max_in_flight updates and lookups wait or run; beyond it they fail
//   at once.
// - Offline: this node remembers the bindings it registered (in memory). A
//   closed connection POSTs one offline event for that connection's
//   bindings; a sweeper POSTs one offline event for those that expired. Both
//   are also reported to the LocationObserver (the webhook). Another node's
//   bindings are that node's business.
// - The service is never contacted by the constructor (cppbx --check-config
//   builds locators): the HTTP client starts in start().
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "http_client/http_client.hpp"
#include "location/locator.hpp"

namespace cppbx::location {

struct HttpLocatorOptions {
  std::string url;
  http::HeaderList headers;
  std::chrono::milliseconds timeout{2000};  // per HTTP request
  size_t max_in_flight = 256;               // updates + lookups waiting or running
  size_t max_body_bytes = 1024 * 1024;      // a GET answer beyond it is an error
  uint32_t max_bindings_per_aor = 10;
  std::chrono::milliseconds sweep_interval{5000};
  std::string home_proxy;                   // set on every binding this node stores
};

class HttpLocator final : public Locator {
 public:
  HttpLocator(boost::asio::io_context& io, HttpLocatorOptions options);
  ~HttpLocator() override;
  HttpLocator(const HttpLocator&) = delete;
  HttpLocator& operator=(const HttpLocator&) = delete;

  std::string_view type() const override { return "http"; }
  void update(UpdateRequest request, std::function<void(UpdateResult)> done) override;
  void lookup(const std::string& aor, std::function<void(LookupResult)> done) override;
  void list(ListRequest request, std::function<void(ListResult)> done) override;
  void remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) override;
  void connection_closed(transport::ConnectionId connection) override;
  void set_observer(std::shared_ptr<LocationObserver> observer) override;
  // Bindings this node registered and still believes alive.
  size_t binding_count() const override;
  void start() override;
  void stop() override;
  // One sweep of this node's expired bindings now; returns how many.
  size_t sweep_now();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cppbx::location
