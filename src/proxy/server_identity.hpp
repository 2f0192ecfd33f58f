// What the proxy knows about itself: which domains are local, which realm a
// request authenticates in, and the Server header it sends. Shared by every
// module; the realms can be replaced while running (the console's Apply,
// SIGHUP): they sit behind an atomic shared_ptr, so a request reads one
// whole list, old or new, and nothing else changes.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sip/uri.hpp"

namespace cppbx::proxy {

class ServerIdentity {
 public:
  ServerIdentity(std::vector<std::string> realms, std::vector<std::string> own_addresses,
                 std::string server_header);
  ServerIdentity(const ServerIdentity& other);
  ServerIdentity& operator=(const ServerIdentity&) = delete;
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
  // The realms now in force (normalized).
  std::shared_ptr<const std::vector<std::string>> realms() const { return realms_.load(); }
  // Thread-safe; requests already deciding keep the list they read.
  void set_realms(const std::vector<std::string>& realms);

 private:
  std::atomic<std::shared_ptr<const std::vector<std::string>>> realms_;
  std::vector<std::string> own_addresses_;
  std::string server_header_;
};

// "example.com:5060" -> "example.com", "[::1]:5060" -> "[::1]"; lowercased.
std::string normalize_host(std::string_view host);

}  // namespace cppbx::proxy
