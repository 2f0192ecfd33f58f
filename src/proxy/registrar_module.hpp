// Module "registrar": the RFC 3261 section 10.3 registrar for REGISTER
// requests (everything else is passed on with next()).
//
// Decisions taken here (the RFC leaves them to the implementation):
// - A Request-URI outside our domains gets 403 "Not a local domain": we do
//   not forward REGISTERs to other registrars.
// - A To URI that is not sip:/sips: with a user, or whose domain is not local,
//   gets 404 (RFC 10.3 step 5: no such AoR here).
// - Only the authenticated user may change its own AoR (403 "Forbidden: not
//   your AoR"). A REGISTER that reaches the registrar without an
//   authenticated user (auth missing from the pipeline, or after registrar)
//   is refused with 403: there is no open-registrar mode.
// - A request that would change a binding last set by the same Call-ID with a
//   higher or equal CSeq fails with 400 "Out of order CSeq": it is a stale or
//   replayed request, retrying it cannot succeed, so it is a client error
//   rather than the 500 that would invite a retry.
// - The store being unreachable gives 503 with Retry-After.
// - A malformed expires (Contact param or Expires header) counts as 3600, as
//   RFC 3261 20.19 asks, and then goes through the min/max policy.
// - No GRUU (RFC 5627): pub-gruu / temp-gruu params are never echoed.
// - Contact URIs identify bindings by their exact text unless the contact
//   carries +sip.instance (RFC 5626), which then identifies the device.
//
// The module does the SIP work (validation, expiry policy, the 200 with every
// binding) and delegates storage to a Locator, whose callback may come on
// another thread; the callback holds everything it needs, not the module.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "config/config.hpp"
#include "location/events.hpp"
#include "location/locator.hpp"
#include "proxy/module.hpp"
#include "proxy/server_identity.hpp"

namespace cppbx::proxy {

struct RegistrarOptions {
  uint32_t default_expires = 60;   // when neither the contact nor Expires says
  uint32_t min_expires = 60;       // 0 < expires < min: 423 Interval Too Brief
  uint32_t max_expires = 7200;     // above: clamped
  uint32_t retry_after_seconds = 5;  // on 503 when the locator fails

  static RegistrarOptions from(const config::ProxyConfig& config);
};

class RegistrarModule final : public Module {
 public:
  RegistrarModule(std::shared_ptr<location::Locator> locator,
                  std::shared_ptr<const ServerIdentity> identity, RegistrarOptions options);

  std::string_view name() const override { return "registrar"; }
  void handle(RequestContextPtr context, Next next) override;

  // Receives registered / unregistered events (e.g. the locator webhook).
  // Thread-safe; nullptr removes it. Events are logged either way.
  void set_observer(std::shared_ptr<location::RegistrationObserver> observer);

 private:
  std::shared_ptr<location::RegistrationObserver> observer() const;

  std::shared_ptr<location::Locator> locator_;
  std::shared_ptr<const ServerIdentity> identity_;
  RegistrarOptions options_;
  mutable std::mutex observer_mutex_;
  std::shared_ptr<location::RegistrationObserver> observer_;
};

}  // namespace cppbx::proxy
