// The JSON shape of registration events, shared by the locator webhook and
// the http locator so that one external service can consume both.
//
// Design decisions:
// - Keys keep the documented order (nlohmann::ordered_json): event,
//   location(s), timestamp; inside a location aor, expires, destination,
//   supports_webrtc, transport, user_agent, home_proxy. Receivers should not
//   depend on order, but a stable order makes payloads diffable and testable.
// - `transport` is spelled as RustPBX spells it ("Udp", "Tcp", "Tls", "Ws",
//   "Wss"), so receivers written for RustPBX work unchanged.
// - `expires` is the remaining lifetime in seconds for a registered binding
//   and 0 for a binding that is gone (unregistered or offline).
// - The http locator adds the fields needed to rebuild a Binding
//   (stored_location_json); the webhook sends only the documented ones.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "location/binding.hpp"

namespace cppbx::location {

enum class LocationEvent { Registered, Unregistered, Offline };

std::string_view event_name(LocationEvent event);
std::optional<LocationEvent> event_from_name(std::string_view name);
std::string_view transport_name(transport::Protocol protocol);  // "Udp", ...
std::optional<transport::Protocol> transport_from_name(std::string_view name);

// The documented location object.
nlohmann::ordered_json location_json(const Binding& binding, LocationEvent event, Clock::time_point now);

// The location object plus what rebuilds a Binding: contact, contact_params,
// instance_id, reg_id, expires_at (Unix seconds), path, call_id, cseq, q,
// last_modified (Unix milliseconds), connection.
nlohmann::ordered_json stored_location_json(const Binding& binding, LocationEvent event, Clock::time_point now);

// A Binding from stored_location_json's shape; nullopt (and why in `error`)
// when a required field is missing or has the wrong type.
std::optional<Binding> binding_from_json(const nlohmann::json& json, Clock::time_point now, std::string* error);

// Whole events. registered / unregistered carry one `location` (one event
// per binding), offline a `locations` array; `timestamp` is `now` in Unix
// seconds. `stored` selects stored_location_json (the http locator).
std::string binding_event_payload(LocationEvent event, const Binding& binding, Clock::time_point now,
                                  bool stored = false);
std::string offline_payload(const std::vector<Binding>& bindings, Clock::time_point now, bool stored = false);

}  // namespace cppbx::location
