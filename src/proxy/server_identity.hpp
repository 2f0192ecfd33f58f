// What the proxy knows about itself: which domains are local, which realm a
// request authenticates in, and the Server header it sends. Shared read-only
// by every module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sip/uri.hpp"

namespace cppbx::proxy {

class ServerIdentity {
 public:
  ServerIdentity(std::vector<std::string> realms, std::vector<std::string> own_addresses,
                 std::string server_header);
  // A domain is local when it is one of the server's own addresses, localhost,
  // or a configured realm (case-insensitive, port ignored). With no realms
  // configured every domain is accepted as local.
  bool is_local_domain(std::string_view host) const;
  // Stricter, for Route entries: one of the server's own addresses,
  // localhost, or a configured realm (never "any domain").
  bool names_this_server(std::string_view host) const;
  // The request's domain when listed in realms (any domain when realms is
  // empty), else the first configured realm.
  std::string realm_for(std::string_view host) const;
  const std::string& server_header() const { return server_header_; }
  const std::vector<std::string>& realms() const { return realms_; }

 private:
  std::vector<std::string> realms_;
  std::vector<std::string> own_addresses_;
  std::string server_header_;
};

// "example.com:5060" -> "example.com", "[::1]:5060" -> "[::1]"; lowercased.
std::string normalize_host(std::string_view host);

}  // namespace cppbx::proxy
