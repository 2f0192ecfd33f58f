// What the locators share to answer Locator::list() and remove(): filtering,
// ordering and paging of bindings, done the same way in C++ for every store
// (SQL collations order text differently per database and locale, so the
// stores only narrow the rows down and this code decides the order), and
// the UpdateRequest that removes one binding whatever its Call-ID.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "location/locator.hpp"

namespace cppbx::location {

// ASCII case-insensitive "aor contains needle" (empty needle: always).
bool aor_contains(std::string_view aor, std::string_view needle);

// Drops expired and non-matching bindings, sorts by AoR then contact, counts
// them (total) and keeps the requested page.
ListResult page_of(std::vector<Binding> bindings, const ListRequest& request, Clock::time_point now);

// An update that removes `key` of `aor`: no Call-ID, so it is never out of order.
UpdateRequest removal_request(std::string aor, std::string key);

}  // namespace cppbx::location
