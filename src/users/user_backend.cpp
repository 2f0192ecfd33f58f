// realm_matches(): realms are host names, so they compare like hosts do:
// case-insensitively and without a port ("[::1]:5060" keeps its brackets).
#include "users/user_backend.hpp"

namespace cppbx::users {
namespace {

std::string_view without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.find(':');
  // More than one colon: a bare IPv6 address, which has no port to strip.
  if (colon == std::string_view::npos || host.find(':', colon + 1) != std::string_view::npos) {
    return host;
  }
  return host.substr(0, colon);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

bool realm_matches(std::string_view user_realm, std::string_view realm) {
  if (user_realm.empty()) return true;
  std::string_view a = without_port(user_realm);
  std::string_view b = without_port(realm);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace cppbx::users
