// Address-of-record keys. Two URIs name the same AoR when user and domain
// match: the user exactly, the domain case-insensitively and without port.
#pragma once

#include <string>
#include <string_view>

#include "sip/uri.hpp"

namespace cppbx::location {

// "sip:alice@example.com" (sips: folds to sip:, port and params dropped,
// domain lowercased, user %-unescaped).
std::string aor_key(const sip::Uri& uri);
std::string aor_key(std::string_view user, std::string_view domain);
// aor_key(user, domain) == aor, without building a string per call.
bool is_aor_of(std::string_view aor, std::string_view user, std::string_view domain);

}  // namespace cppbx::location
