// See binding_rules.hpp. Lists are small (a handful of bindings per AoR), so
// linear searches beat building an index per request.
#include "location/binding_rules.hpp"

#include <algorithm>
#include <iterator>

namespace cppbx::location {
namespace {

using BindingList = std::vector<Binding>;

// Moves the bindings matching `predicate` from `list` to `out`, keeping order.
template <typename Predicate>
void extract_if(BindingList& list, BindingList& out, Predicate predicate) {
  auto keep_end = std::stable_partition(list.begin(), list.end(),
                                        [&](const Binding& b) { return !predicate(b); });
  std::move(keep_end, list.end(), std::back_inserter(out));
  list.erase(keep_end, list.end());
}

bool has_key(const BindingList& list, std::string_view key) {
  return std::any_of(list.begin(), list.end(), [&](const Binding& b) { return key_view(b) == key; });
}

const Binding* find_key(const BindingList& list, std::string_view key) {
  auto it = std::find_if(list.begin(), list.end(), [&](const Binding& b) { return key_view(b) == key; });
  return it == list.end() ? nullptr : &*it;
}

// RFC 3261 10.3 steps 6 and 7: a binding may only be changed by a request
// from another Call-ID or with a higher CSeq than the one that last set it.
bool is_out_of_order(const BindingList& list, const UpdateRequest& request) {
  if (request.call_id.empty()) return false;
  auto stale = [&](const Binding* b) { return b && b->call_id == request.call_id && b->cseq >= request.cseq; };
  if (request.remove_all) {
    return std::any_of(list.begin(), list.end(), [&](const Binding& b) { return stale(&b); });
  }
  for (const std::string& key : request.removals) {
    if (stale(find_key(list, key))) return true;
  }
  for (const Binding& upsert : request.upserts) {
    if (stale(find_key(list, key_view(upsert)))) return true;
  }
  return false;
}

size_t count_new_keys(const BindingList& list, const UpdateRequest& request) {
  return static_cast<size_t>(std::count_if(request.upserts.begin(), request.upserts.end(),
                                           [&](const Binding& b) { return !has_key(list, key_view(b)); }));
}

void apply_changes(BindingUpdate& update, UpdateRequest& request, uint32_t limit, Clock::time_point now) {
  BindingList& list = update.bindings;
  if (request.remove_all) extract_if(list, update.removed, [](const Binding&) { return true; });
  for (const std::string& key : request.removals) {
    extract_if(list, update.removed, [&](const Binding& b) { return key_view(b) == key; });
  }
  // list[0, earlier) were there before this request; its upserts follow.
  size_t earlier = list.size();
  for (Binding& upsert : request.upserts) {
    upsert.aor = request.aor;
    if (!request.call_id.empty()) {
      upsert.call_id = request.call_id;
      upsert.cseq = request.cseq;
    }
    upsert.last_modified = now;
    const std::string_view key = key_view(upsert);
    auto same_key = [&](const Binding& b) { return key_view(b) == key; };
    earlier -= static_cast<size_t>(std::count_if(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(earlier), same_key));
    extract_if(list, update.replaced, same_key);
    list.push_back(std::move(upsert));
  }
  if (limit != 0 && list.size() > limit) {
    const size_t excess = list.size() - limit;
    const auto excess_end = list.begin() + static_cast<std::ptrdiff_t>(excess);
    std::move(list.begin(), excess_end, std::back_inserter(update.removed));
    list.erase(list.begin(), excess_end);
    // A binding of this very request evicted at once was never really registered.
    earlier = earlier > excess ? earlier - excess : 0;
  }
  update.registered_count = list.size() - earlier;
}

}  // namespace

std::string_view key_view(const Binding& binding) {
  return binding.instance_id.empty() ? std::string_view(binding.contact) : std::string_view(binding.instance_id);
}

UpdateResult BindingUpdate::to_result() {
  return to_result(std::make_shared<const std::vector<Binding>>(std::move(bindings)));
}

UpdateResult BindingUpdate::to_result(std::shared_ptr<const std::vector<Binding>> stored) {
  UpdateResult result;
  result.status = status;
  result.detail = std::move(detail);
  result.current = std::move(stored);
  result.registered_count = registered_count;
  result.removed = std::move(removed);
  return result;
}

BindingUpdate apply_binding_rules(BindingList current, UpdateRequest request, const BindingRules& rules,
                                  Clock::time_point now) {
  BindingUpdate update;
  update.bindings = std::move(current);
  extract_if(update.bindings, update.expired, [&](const Binding& b) { return b.expired(now); });

  const size_t new_keys = count_new_keys(update.bindings, request);
  if (is_out_of_order(update.bindings, request)) {
    update.status = UpdateStatus::OutOfOrder;
    update.detail = "an existing binding has the same Call-ID and a CSeq not lower";
  } else if (new_keys > 0 && new_keys > rules.room_for_new) {
    update.status = UpdateStatus::Error;
    update.detail = "the locator holds its maximum number of bindings";
  } else {
    const uint32_t limit = request.max_bindings != 0 ? request.max_bindings : rules.max_bindings_per_aor;
    apply_changes(update, request, limit, now);
  }
  return update;
}

}  // namespace cppbx::location
