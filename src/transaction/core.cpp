// Responses the transaction layer produces by itself, the deadline list and
// the housekeeping timer (see core.hpp).
#include "transaction/core.hpp"

#include <algorithm>

#include "transaction/server_transaction.hpp"

namespace cppbx::transaction {

std::chrono::steady_clock::duration Core::wheel_tick(const Timers& timers) {
  // T1/50, 1 to 10 ms: retransmissions (T1 = 500 ms) and 100 Trying (200 ms)
  // go out at most 10 ms late; Timer K and the other wheel timers end that
  // late too.
  return std::clamp<std::chrono::steady_clock::duration>(timers.t1 / 50, std::chrono::milliseconds(1),
                                                         std::chrono::milliseconds(10));
}

std::chrono::steady_clock::duration Core::coarse_tick(const Timers& timers) {
  // T1/5, 1 to 100 ms: Timer J (64*T1) and the non-INVITE deadline end at
  // most 0.3 % late.
  return std::clamp<std::chrono::steady_clock::duration>(timers.t1 / 5, std::chrono::milliseconds(1),
                                                         std::chrono::milliseconds(100));
}

void DeadlineList::push_back(DeadlineLink& link, std::chrono::steady_clock::time_point deadline) {
  std::lock_guard lock(mutex_);
  if (link.linked) return;
  link.deadline = deadline;
  link.prev = tail_;
  link.next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = &link;
  } else {
    head_ = &link;
  }
  tail_ = &link;
  link.linked = true;
}

void DeadlineList::remove(DeadlineLink& link) {
  std::lock_guard lock(mutex_);
  if (!link.linked) return;
  (link.prev != nullptr ? link.prev->next : head_) = link.next;
  (link.next != nullptr ? link.next->prev : tail_) = link.prev;
  link.prev = link.next = nullptr;
  link.linked = false;
}

std::vector<std::shared_ptr<ServerTx>> DeadlineList::pop_expired(std::chrono::steady_clock::time_point now) {
  std::vector<std::shared_ptr<ServerTx>> expired;
  std::lock_guard lock(mutex_);
  while (head_ != nullptr && head_->deadline <= now) {
    DeadlineLink* link = head_;
    head_ = link->next;
    (head_ != nullptr ? head_->prev : tail_) = nullptr;
    link->prev = link->next = nullptr;
    link->linked = false;
    // A transaction being destroyed unlinks itself in its destructor, after
    // its last owner left: lock() then yields nothing.
    if (auto tx = link->owner->weak_from_this().lock()) expired.push_back(std::move(tx));
  }
  return expired;
}

bool DeadlineList::empty() const {
  std::lock_guard lock(mutex_);
  return head_ == nullptr;
}

void Core::schedule_housekeeping() {
  // seq_cst: either this load sees the timer armed, or housekeep()'s check
  // that follows disarming sees what the caller just added.
  if (housekeeping_armed_.load() != Tick::None) return;
  std::lock_guard lock(housekeeping_mutex_);
  if (housekeeping_armed_.load() == Tick::None) arm_housekeeping_locked(Tick::Coarse);
}

void Core::schedule(std::chrono::steady_clock::time_point when, std::weak_ptr<TimerTarget> target) {
  wheel.schedule(when, std::move(target));
  if (housekeeping_armed_.load() == Tick::Fine) return;
  // Armed coarse (or not at all): re-armed at the fine tick, which cancels
  // the coarse wait. Once per quiet-to-busy change, as the wheel then stays
  // non-empty while calls go on.
  std::lock_guard lock(housekeeping_mutex_);
  if (housekeeping_armed_.load() != Tick::Fine) arm_housekeeping_locked(Tick::Fine);
}

void Core::stop_housekeeping() {
  std::lock_guard lock(housekeeping_mutex_);
  housekeeping_stopped_ = true;
  housekeeping_timer.cancel();
}

void Core::arm_housekeeping_locked(Tick tick) {
  if (housekeeping_stopped_) return;
  housekeeping_armed_.store(tick);
  housekeeping_timer.expires_after(tick == Tick::Fine ? wheel.tick() : coarse_tick_);
  housekeeping_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    auto core = weak.lock();
    // operation_aborted: stopped, or re-armed finer (a newer wait is pending).
    if (!core || error == boost::asio::error::operation_aborted) return;
    core->housekeep();
  });
}

void Core::housekeep() {
  housekeeping_armed_.store(Tick::None);
  auto now = std::chrono::steady_clock::now();
  // Completed records live in chunks mapped from the OS and unmapped as they
  // expire (completed_store.hpp), so nothing here has to trim the heap.
  completed.expire(now);
  for (auto& tx : deadlines.pop_expired(now)) tx->on_deadline();
  for (auto& target : wheel.take_due(now)) target->on_timer_due();
  const bool wheel_busy = wheel.size() != 0;
  const bool idle = !wheel_busy && completed.size() == 0 && deadlines.empty();
  if (!idle) {
    std::lock_guard lock(housekeeping_mutex_);
    if (housekeeping_armed_.load() == Tick::None) arm_housekeeping_locked(wheel_busy ? Tick::Fine : Tick::Coarse);
  }
}

std::string Core::build_own_response(const sip::Message& request, const transport::Peer& source, int code,
                                      std::string_view reason, std::string_view to_tag,
                                      std::span<const sip::HeaderField> extra_headers) const {
  sip::ResponseSpec spec;
  spec.code = code;
  spec.reason = reason;
  spec.to_tag = to_tag;
  spec.headers.reserve(extra_headers.size() + 1);
  if (!options.server_header.empty()) spec.headers.emplace_back("Server", options.server_header);
  spec.headers.insert(spec.headers.end(), extra_headers.begin(), extra_headers.end());
  return build_stamped_response(request, source, spec);
}

void Core::respond_statelessly(const transport::Inbound& inbound, int code, std::string_view reason,
                               std::span<const sip::HeaderField> extra_headers) {
  const sip::Message& request = *inbound.parsed.message;
  std::string tag = new_tag();
  transport.send(response_destination(inbound),
                 build_own_response(request, inbound.peer, code, reason, tag, extra_headers));
}

}  // namespace cppbx::transaction
