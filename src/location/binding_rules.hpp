// The registration rules every locator applies to one AoR, as a pure
// function: given the AoR's bindings as stored (oldest modification first),
// a registrar UpdateRequest and `now`, it computes the AoR's new binding list
// and what changed. It touches no store, so the memory, database, Redis and
// HTTP locators only differ in how they read the AoR's bindings and write the
// difference back (atomically, per AoR), and they answer the registrar alike.
//
// Rules (RFC 3261 10.3): expired bindings are dropped first; a request whose
// Call-ID matches a binding it would change with a CSeq not higher is out of
// order and changes nothing; otherwise removals (or remove_all) go, upserts
// replace the binding with the same Binding::key() and move to the end, and
// beyond the per-AoR limit the least recently modified bindings are removed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "location/locator.hpp"

namespace cppbx::location {

struct BindingRules {
  uint32_t max_bindings_per_aor = 10;  // 0: unlimited; UpdateRequest::max_bindings overrides
  // How many bindings the store may still add (a store-wide bound); a request
  // that would add more new keys than this fails with UpdateStatus::Error.
  size_t room_for_new = std::numeric_limits<size_t>::max();
};

struct BindingUpdate {
  UpdateStatus status = UpdateStatus::Ok;
  std::string detail;
  // The AoR's bindings after the request, oldest modification first. Equal to
  // the input minus `expired` when the status is not Ok.
  std::vector<Binding> bindings;
  size_t registered_count = 0;      // the last ones of `bindings` were created or refreshed
  std::vector<Binding> removed;     // by removals, remove_all or the limit
  std::vector<Binding> replaced;    // earlier versions of refreshed bindings
  std::vector<Binding> expired;     // dropped because expired (report them offline)

  // Created or refreshed (as stored): always the end of `bindings`.
  std::span<const Binding> registered() const { return newest(bindings, registered_count); }

  // The UpdateResult the registrar gets (moves bindings and removed).
  UpdateResult to_result();
  // The same, with `stored` (holding what was `bindings`; null when that was
  // empty) as its current list.
  UpdateResult to_result(std::shared_ptr<const std::vector<Binding>> stored);
};

// Applies `request` to `current` (the AoR's stored bindings, oldest modified
// first). Upserts get request.aor, the request's Call-ID/CSeq (when it has a
// Call-ID) and last_modified = now.
BindingUpdate apply_binding_rules(std::vector<Binding> current, UpdateRequest request,
                                  const BindingRules& rules, Clock::time_point now);

// Binding::key() without a copy.
std::string_view key_view(const Binding& binding);

}  // namespace cppbx::location
