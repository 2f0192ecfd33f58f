// A registration binding (RFC 3261 10.3) as the registrar stores it, with
// everything the locator webhook reports about it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transport/transport.hpp"

namespace cppbx::location {

using Clock = std::chrono::system_clock;

struct Binding {
  std::string aor;           // normalized, see aor.hpp: "sip:alice@example.com"
  std::string contact;       // the Contact URI as registered (no display name, no header params)
  std::string contact_params;// Contact header params as registered (q, +sip.instance, ...)
  std::string instance_id;   // +sip.instance value without quotes, may be empty
  uint32_t reg_id = 0;
  Clock::time_point expires_at;
  std::string destination;   // "udp:192.0.2.10:5060", source after rport
  transport::Protocol transport = transport::Protocol::Udp;
  transport::ConnectionId connection = 0;
  std::string user_agent;
  std::vector<std::string> path;   // Path header values (RFC 3327)
  bool supports_webrtc = false;
  std::string call_id;
  uint32_t cseq = 0;
  Clock::time_point last_modified;
  std::string home_proxy;    // SIP address of the node holding the flow
  float q = 1.0f;

  // Identity of the binding within its AoR: the instance id when present
  // (RFC 5626), else the contact URI.
  std::string key() const;
  uint32_t remaining_seconds(Clock::time_point now) const;  // 0 once expired
  bool expired(Clock::time_point now) const { return expires_at <= now; }
};

// Binding::key() for a binding not built yet (the registrar's removals).
std::string binding_key(std::string_view instance_id, std::string_view contact);

}  // namespace cppbx::location
