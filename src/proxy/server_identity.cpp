// Local-domain and realm decisions, made once per request from lists fixed at
// start-up (the realms also at each reload or Apply): everything is lowercased
// up front so the per-request work is a handful of string compares.
#include "proxy/server_identity.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace cppbx::proxy {
namespace {

using cppbx::to_lower;

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// `list` is lowercased already; `host` is compared without a lowercased copy.
bool contains_host(const std::vector<std::string>& list, std::string_view host) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& entry) { return iequals(entry, host); });
}

}  // namespace

std::string normalize_host(std::string_view host) { return to_lower(sip::host_without_port(host)); }

ServerIdentity::ServerIdentity(std::vector<std::string> realms,
                               std::vector<std::string> own_addresses,
                               std::string server_header)
    : server_header_(std::move(server_header)) {
  set_realms(realms);
  for (const auto& address : own_addresses) {
    std::string host = address;
    // Own addresses may be given as bare IPv6; keep them in bracketed form, as
    // they appear in URIs.
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    own_addresses_.push_back(normalize_host(host));
  }
  for (const char* loopback : {"localhost", "127.0.0.1", "[::1]"}) {
    if (!contains(own_addresses_, loopback)) own_addresses_.emplace_back(loopback);
  }
}

ServerIdentity::ServerIdentity(const ServerIdentity& other)
    : realms_(other.realms_.load()), own_addresses_(other.own_addresses_), server_header_(other.server_header_) {}

void ServerIdentity::set_realms(const std::vector<std::string>& realms) {
  auto normalized = std::make_shared<std::vector<std::string>>();
  for (const auto& realm : realms) normalized->push_back(normalize_host(realm));
  realms_.store(std::move(normalized));
}

bool ServerIdentity::is_local_domain(std::string_view host) const {
  const auto realms = realms_.load();
  if (realms->empty()) return true;
  const std::string_view bare = sip::host_without_port(host);
  return contains_host(*realms, bare) || contains_host(own_addresses_, bare);
}

bool ServerIdentity::names_this_server(std::string_view host) const {
  const std::string_view bare = sip::host_without_port(host);
  return contains_host(own_addresses_, bare) || contains_host(*realms_.load(), bare);
}

std::string ServerIdentity::realm_for(std::string_view host) const {
  const std::string normalized = normalize_host(host);
  const auto realms = realms_.load();
  if (realms->empty() || contains(*realms, normalized)) return normalized;
  return realms->front();
}

}  // namespace cppbx::proxy
