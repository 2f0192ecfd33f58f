// See location_payload.hpp. Reading is defensive: the http locator parses
// what an external service answers, so every field is type-checked and a
// bad one is an error, never an exception.
#include "location/location_payload.hpp"

#include <array>

namespace cppbx::location {
namespace {

constexpr std::array<std::pair<transport::Protocol, std::string_view>, 5> kTransports = {{
    {transport::Protocol::Udp, "Udp"},
    {transport::Protocol::Tcp, "Tcp"},
    {transport::Protocol::Tls, "Tls"},
    {transport::Protocol::Ws, "Ws"},
    {transport::Protocol::Wss, "Wss"},
}};

int64_t unix_seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

int64_t unix_millis(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

template <typename T>
bool read_field(const nlohmann::json& json, const char* name, T& out, bool required, std::string* error) {
  auto it = json.find(name);
  if (it == json.end() || it->is_null()) {
    if (required && error) *error = std::string("missing field '") + name + "'";
    return !required;
  }
  try {
    out = it->get<T>();
    return true;
  } catch (const nlohmann::json::exception&) {
    if (error) *error = std::string("field '") + name + "' has the wrong type";
    return false;
  }
}

// SIP text (User-Agent, Contact) need not be valid UTF-8: invalid bytes become
// U+FFFD instead of an exception.
std::string dump(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string_view event_name(LocationEvent event) {
  switch (event) {
    case LocationEvent::Registered: return "registered";
    case LocationEvent::Unregistered: return "unregistered";
    case LocationEvent::Offline: return "offline";
  }
  return "offline";
}

std::optional<LocationEvent> event_from_name(std::string_view name) {
  for (auto event : {LocationEvent::Registered, LocationEvent::Unregistered, LocationEvent::Offline}) {
    if (event_name(event) == name) return event;
  }
  return std::nullopt;
}

std::string_view transport_name(transport::Protocol protocol) {
  for (const auto& [value, name] : kTransports) {
    if (value == protocol) return name;
  }
  return "Udp";
}

std::optional<transport::Protocol> transport_from_name(std::string_view name) {
  for (const auto& [value, known] : kTransports) {
    if (known == name) return value;
  }
  return std::nullopt;
}

nlohmann::ordered_json location_json(const Binding& binding, LocationEvent event, Clock::time_point now) {
  nlohmann::ordered_json json;
  json["aor"] = binding.aor;
  json["expires"] = event == LocationEvent::Registered ? binding.remaining_seconds(now) : 0u;
  json["destination"] = binding.destination;
  json["supports_webrtc"] = binding.supports_webrtc;
  json["transport"] = transport_name(binding.transport);
  json["user_agent"] = binding.user_agent;
  json["home_proxy"] = binding.home_proxy;
  return json;
}

nlohmann::ordered_json stored_location_json(const Binding& binding, LocationEvent event, Clock::time_point now) {
  nlohmann::ordered_json json = location_json(binding, event, now);
  json["contact"] = binding.contact;
  json["contact_params"] = binding.contact_params;
  json["instance_id"] = binding.instance_id;
  json["reg_id"] = binding.reg_id;
  json["expires_at"] = unix_seconds(binding.expires_at);
  json["path"] = binding.path;
  json["call_id"] = binding.call_id;
  json["cseq"] = binding.cseq;
  json["q"] = binding.q;
  json["last_modified"] = unix_millis(binding.last_modified);
  json["connection"] = binding.connection;
  return json;
}

std::optional<Binding> binding_from_json(const nlohmann::json& json, Clock::time_point now, std::string* error) {
  if (!json.is_object()) {
    if (error) *error = "a location is not a JSON object";
    return std::nullopt;
  }
  Binding b;
  std::string transport = "Udp";
  int64_t expires_at = 0;
  int64_t expires = -1;
  int64_t last_modified = 0;
  bool ok = read_field(json, "aor", b.aor, true, error) && read_field(json, "contact", b.contact, true, error) &&
            read_field(json, "expires", expires, false, error) &&
            read_field(json, "expires_at", expires_at, false, error) &&
            read_field(json, "destination", b.destination, false, error) &&
            read_field(json, "supports_webrtc", b.supports_webrtc, false, error) &&
            read_field(json, "transport", transport, false, error) &&
            read_field(json, "user_agent", b.user_agent, false, error) &&
            read_field(json, "home_proxy", b.home_proxy, false, error) &&
            read_field(json, "contact_params", b.contact_params, false, error) &&
            read_field(json, "instance_id", b.instance_id, false, error) &&
            read_field(json, "reg_id", b.reg_id, false, error) && read_field(json, "path", b.path, false, error) &&
            read_field(json, "call_id", b.call_id, false, error) && read_field(json, "cseq", b.cseq, false, error) &&
            read_field(json, "q", b.q, false, error) &&
            read_field(json, "last_modified", last_modified, false, error) &&
            read_field(json, "connection", b.connection, false, error);
  if (!ok) return std::nullopt;
  auto protocol = transport_from_name(transport);
  if (!protocol) {
    if (error) *error = "unknown transport in a location";
    return std::nullopt;
  }
  b.transport = *protocol;
  if (expires_at > 0) {
    b.expires_at = Clock::time_point(std::chrono::seconds(expires_at));
  } else if (expires >= 0) {
    b.expires_at = now + std::chrono::seconds(expires);
  } else {
    if (error) *error = "a location needs 'expires_at' or 'expires'";
    return std::nullopt;
  }
  b.last_modified = Clock::time_point(std::chrono::milliseconds(last_modified));
  return b;
}

std::string binding_event_payload(LocationEvent event, const Binding& binding, Clock::time_point now, bool stored) {
  nlohmann::ordered_json json;
  json["event"] = event_name(event);
  json["location"] = stored ? stored_location_json(binding, event, now) : location_json(binding, event, now);
  json["timestamp"] = unix_seconds(now);
  return dump(json);
}

std::string offline_payload(const std::vector<Binding>& bindings, Clock::time_point now, bool stored) {
  nlohmann::ordered_json json;
  json["event"] = "offline";
  json["locations"] = nlohmann::ordered_json::array();
  for (const Binding& binding : bindings) {
    json["locations"].push_back(stored ? stored_location_json(binding, LocationEvent::Offline, now)
                                       : location_json(binding, LocationEvent::Offline, now));
  }
  json["timestamp"] = unix_seconds(now);
  return dump(json);
}

}  // namespace cppbx::location
