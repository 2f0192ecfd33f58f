// Binding identity and remaining lifetime. The key rule lives here, in one
// place, so the registrar (which computes keys for removals) and every locator
// agree on what "the same binding" means.
#include "location/binding.hpp"

namespace cppbx::location {

std::string binding_key(std::string_view instance_id, std::string_view contact) {
  return std::string(instance_id.empty() ? contact : instance_id);
}

std::string Binding::key() const { return binding_key(instance_id, contact); }

uint32_t Binding::remaining_seconds(Clock::time_point now) const {
  if (expires_at <= now) return 0;
  // Round up so a binding that is still alive never reports "expires=0",
  // which a phone would read as "removed".
  auto left = std::chrono::ceil<std::chrono::seconds>(expires_at - now).count();
  return left > static_cast<int64_t>(UINT32_MAX) ? UINT32_MAX : static_cast<uint32_t>(left);
}

}  // namespace cppbx::location
