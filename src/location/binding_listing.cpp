// See binding_listing.hpp.
#include "location/binding_listing.hpp"

#include <algorithm>
#include <tuple>

namespace cppbx::location {
namespace {

char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool aor_contains(std::string_view aor, std::string_view needle) {
  if (needle.empty()) return true;
  auto found = std::search(aor.begin(), aor.end(), needle.begin(), needle.end(),
                           [](char a, char b) { return lower_ascii(a) == lower_ascii(b); });
  return found != aor.end();
}

ListResult page_of(std::vector<Binding> bindings, const ListRequest& request, Clock::time_point now) {
  std::erase_if(bindings, [&](const Binding& b) { return b.expired(now) || !aor_contains(b.aor, request.aor_contains); });
  std::sort(bindings.begin(), bindings.end(), [](const Binding& a, const Binding& b) {
    return std::tie(a.aor, a.contact) < std::tie(b.aor, b.contact);
  });
  ListResult result;
  result.total = bindings.size();
  const size_t first = std::min(request.offset, bindings.size());
  const size_t count = request.limit == 0 ? bindings.size() - first : std::min(request.limit, bindings.size() - first);
  result.bindings.assign(std::make_move_iterator(bindings.begin() + static_cast<std::ptrdiff_t>(first)),
                         std::make_move_iterator(bindings.begin() + static_cast<std::ptrdiff_t>(first + count)));
  return result;
}

UpdateRequest removal_request(std::string aor, std::string key) {
  UpdateRequest request;
  request.aor = std::move(aor);
  request.removals.push_back(std::move(key));
  return request;
}

}  // namespace cppbx::location
