// Registration events for consumers such as the locator webhook. The
// registrar reports what each REGISTER changed (registered / unregistered);
// the locator's own LocationObserver (locator.hpp) reports bindings that went
// away without a REGISTER (expiry, closed connection: "offline"). Observers
// are called on SIP threads and must not block: queue the work.
#pragma once

#include <span>

#include "location/binding.hpp"

namespace cppbx::location {

class RegistrationObserver {
 public:
  virtual ~RegistrationObserver() = default;
  // Created or refreshed by a REGISTER.
  virtual void on_registered(std::span<const Binding> bindings) = 0;
  // Removed by a REGISTER (expires 0, Contact: *, or replaced because the AoR
  // reached its binding limit).
  virtual void on_unregistered(std::span<const Binding> bindings) = 0;
};

}  // namespace cppbx::location
