// The `page` and `per_page` query values of the list routes (extensions,
// registrations), read and checked the same way everywhere.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "http_api/api_message.hpp"

namespace cppbx::http_api {

struct Paging {
  static constexpr int kDefaultPerPage = 50;
  static constexpr int kMaxPerPage = 500;
  static constexpr const char* kProblem = "page and per_page must be positive integers (per_page at most 500)";
  int page = 1;
  int per_page = kDefaultPerPage;
};

namespace paging_detail {
// A positive integer query value, `fallback` when absent; nullopt when bad.
inline std::optional<int> positive(const Request& request, const char* name, int fallback) {
  std::string text = request.query_value(name);
  if (text.empty()) return fallback;
  if (text.size() > 9 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int value = std::stoi(text);
  return value >= 1 ? std::optional<int>(value) : std::nullopt;
}
}  // namespace paging_detail

// nullopt when either value is not a positive integer or per_page is too large
// (answer 400 with Paging::kProblem).
inline std::optional<Paging> paging_of(const Request& request) {
  auto page = paging_detail::positive(request, "page", 1);
  auto per_page = paging_detail::positive(request, "per_page", Paging::kDefaultPerPage);
  if (!page || !per_page || *per_page > Paging::kMaxPerPage) return std::nullopt;
  return Paging{*page, *per_page};
}

}  // namespace cppbx::http_api
