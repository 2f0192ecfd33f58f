// See server_transaction.hpp for the design.
#include "transaction/server_transaction.hpp"

#include <algorithm>

namespace cppbx::transaction {

namespace {
std::string choose_tag(const sip::Message& request, std::string given) {
  if (!given.empty()) return given;
  std::string_view existing = request.to().tag();
  return existing.empty() ? new_tag() : std::string(existing);
}
}  // namespace

ServerTx::ServerTx(CorePtr core, std::unique_ptr<sip::Message> request, transport::Peer peer, transport::LocalEndpoint local,
                   transport::Peer destination, std::string key, std::string merge_key, std::string local_tag)
    : core_(std::move(core)),
      request_(std::move(request)),
      peer_(std::move(peer)),
      local_(std::move(local)),
      destination_(std::move(destination)),
      key_(std::move(key)),
      merge_key_(std::move(merge_key)),
      local_tag_(choose_tag(*request_, std::move(local_tag))),
      invite_(request_->method() == sip::Method::Invite) {
  deadline_link_.owner = this;
  core_->awaiting_final.fetch_add(1, std::memory_order_relaxed);
}

ServerTx::~ServerTx() {
  core_->deadlines.remove(deadline_link_);
  if (pending_counted_) core_->awaiting_final.fetch_sub(1, std::memory_order_relaxed);
}

void ServerTx::start() {
  std::lock_guard lock(mutex_);
  Clock::time_point now = Clock::now();
  const Timers& timers = core_->options.timers;
  if (invite_) {
    trying_at_ = now + core_->options.trying_delay;
    end_at_ = now + core_->options.invite_timeout;
    arm_locked();
  } else {
    // The client has given up by then (Timer F); see on_deadline().
    core_->deadlines.push_back(deadline_link_, now + 64 * timers.t1);
    core_->schedule_housekeeping();
  }
}

std::string ServerTx::serialize(const sip::ResponseSpec& spec) const {
  // Reused per thread so that copying the spec to add our tag does not allocate.
  thread_local sip::ResponseSpec tagged;
  tagged = spec;
  if (tagged.to_tag.empty()) tagged.to_tag = local_tag_;
  // The `useragent` setting names this server on every response it sends.
  const std::string& server = core_->options.server_header;
  if (!server.empty()) tagged.headers.emplace_back("Server", server);
  return build_stamped_response(*request_, peer_, tagged);
}

bool ServerTx::respond(const sip::ResponseSpec& spec) { return commit(serialize(spec), spec.code); }

bool ServerTx::respond_statelessly(const sip::ResponseSpec& spec) {
  if (invite_ || spec.code < 200) return respond(spec);
  return commit(serialize(spec), spec.code, Retention::None);
}

bool ServerTx::respond_raw(std::string bytes, int status_code) { return commit(std::move(bytes), status_code); }

bool ServerTx::commit(std::string bytes, int status_code, Retention retention) {
  bool terminate_now = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::Trying && state_ != State::Proceeding) return false;
    Clock::time_point now = Clock::now();
    const Timers& timers = core_->options.timers;
    if (status_code < 200) {
      state_ = State::Proceeding;
      trying_at_ = Clock::time_point::max();
    } else {
      settle_pending_locked();
      trying_at_ = Clock::time_point::max();
      if (invite_ && status_code < 300) {
        state_ = State::Accepted;
        end_at_ = now + 64 * timers.t1;  // Timer L
      } else if (invite_) {
        state_ = State::Completed;
        if (!reliable()) {
          retransmit_interval_ = timers.t1;  // Timer G
          retransmit_at_ = now + retransmit_interval_;
        }
        end_at_ = now + 64 * timers.t1;  // Timer H
      } else {
        state_ = State::Completed;
        core_->deadlines.remove(deadline_link_);
        if (reliable() || retention == Retention::None) {
          // Timer J is zero on reliable transports; a stateless answer has none.
          terminate_now = true;
        } else if (compact_locked(bytes, now)) {
          terminate_now = true;  // Timer J goes on in the CompletedStore
        } else {
          end_at_ = now + 64 * timers.t1;  // Timer J
        }
      }
      if (terminate_now) {
        terminate_locked();
      } else {
        arm_locked();
      }
    }
    // Kept for retransmissions, unless the transaction already ended.
    if (!terminate_now) last_response_ = bytes;
  }
  send(std::move(bytes));
  if (terminate_now) remove_from_tables();
  return true;
}

void ServerTx::drop() {
  bool terminate_now = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::Trying && state_ != State::Proceeding) return;
    settle_pending_locked();
    last_response_.clear();
    trying_at_ = Clock::time_point::max();
    core_->deadlines.remove(deadline_link_);
    if (reliable() || (!invite_ && compact_locked({}, Clock::now()))) {
      terminate_locked();
      terminate_now = true;
    } else {
      // Stay to absorb retransmissions silently, as if a response was sent.
      state_ = State::Completed;
      end_at_ = Clock::now() + 64 * core_->options.timers.t1;
      arm_locked();
    }
  }
  if (terminate_now) remove_from_tables();
}

bool ServerTx::completed() const {
  std::lock_guard lock(mutex_);
  return state_ != State::Trying && state_ != State::Proceeding;
}

bool ServerTx::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void ServerTx::on_retransmission() {
  std::string resend;
  bool compacted = false;
  {
    std::lock_guard lock(mutex_);
    compacted = compacted_;
    switch (compacted ? State::Terminated : state_) {
      case State::Trying:
        // An INVITE retransmitted before the core answered: tell the client
        // we are working on it so that it slows down (RFC 3261 17.2.1).
        if (invite_) {
          last_response_ = core_->build_own_response(*request_, peer_, 100, {}, {});
          state_ = State::Proceeding;
          trying_at_ = Clock::time_point::max();
          resend = last_response_;
        }
        break;
      case State::Proceeding:
      case State::Completed:
        resend = last_response_;
        break;
      case State::Confirmed:
      case State::Accepted:
      case State::Terminated:
        break;  // absorbed
    }
  }
  if (compacted) {
    // Between compaction and leaving the tables: answer from the store.
    transport::Peer destination;
    if (!core_->completed.find(key_, resend, destination)) return;
  }
  if (!resend.empty()) send(std::move(resend));
}

ServerTx::AckOutcome ServerTx::on_ack() {
  bool terminate_now = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Accepted) return AckOutcome::ToCore;
    if (state_ != State::Completed || !invite_) return AckOutcome::Absorbed;
    state_ = State::Confirmed;
    retransmit_at_ = Clock::time_point::max();
    if (reliable()) {
      terminate_locked();  // Timer I is zero on reliable transports
      terminate_now = true;
    } else {
      end_at_ = Clock::now() + core_->options.timers.t4;  // Timer I
      arm_locked();
    }
  }
  if (terminate_now) remove_from_tables();
  return AckOutcome::Absorbed;
}

bool ServerTx::cancel() {
  {
    std::lock_guard lock(mutex_);
    bool first = !cancelled_;
    cancelled_ = true;
    if (!first || !invite_ || (state_ != State::Trying && state_ != State::Proceeding)) return false;
  }
  return commit(core_->build_own_response(*request_, peer_, 487, {}, local_tag_), 487);
}

bool ServerTx::accepts(const sip::Message& other) const {
  if (request_->top_via().rfc3261_branch()) return true;  // the branch key said it all
  std::string_view tag = other.to().tag();
  if (other.method() == sip::Method::Ack) return tag == local_tag_ || tag == request_->to().tag();
  if (other.method() == sip::Method::Cancel) return true;
  return tag == request_->to().tag();
}

void ServerTx::abandon() {
  std::lock_guard lock(mutex_);
  settle_pending_locked();
  terminate_locked();
}

void ServerTx::on_deadline() {
  {
    std::lock_guard lock(mutex_);
    if (invite_ || (state_ != State::Trying && state_ != State::Proceeding)) return;
    settle_pending_locked();
    terminate_locked();
  }
  remove_from_tables();
}

bool ServerTx::compact_locked(const std::string& response, Clock::time_point now) {
  if (key_.empty() || key_.front() != '3') return false;  // see transaction_keys.hpp
  compacted_ = core_->completed.insert(key_, merge_key_, response, destination_,
                                       now + 64 * core_->options.timers.t1);
  if (compacted_) core_->schedule_housekeeping();
  return compacted_;
}

void ServerTx::on_timer_due() {
  std::string resend;
  bool terminate_now = false;
  bool give_up_invite = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Terminated) return;
    Clock::time_point now = Clock::now();
    if (now >= queued_at_) queued_at_ = Clock::time_point::max();  // that wake-up is this one
    if (now >= trying_at_ && state_ == State::Trying) {
      last_response_ = core_->build_own_response(*request_, peer_, 100, {}, {});
      state_ = State::Proceeding;
      resend = last_response_;
    }
    if (now >= trying_at_) trying_at_ = Clock::time_point::max();
    if (now >= retransmit_at_ && state_ == State::Completed) {
      resend = last_response_;  // Timer G
      retransmit_interval_ = std::min<Clock::duration>(retransmit_interval_ * 2, core_->options.timers.t2);
      retransmit_at_ = now + retransmit_interval_;
    }
    if (now >= end_at_) {
      if (state_ == State::Trying || state_ == State::Proceeding) {
        if (invite_) {
          give_up_invite = true;
        } else {
          settle_pending_locked();
          terminate_locked();
          terminate_now = true;
        }
      } else {
        terminate_locked();  // Timer H, I, J or L
        terminate_now = true;
      }
    }
    if (!terminate_now && !give_up_invite) arm_locked();
  }
  if (!resend.empty()) send(std::move(resend));
  if (give_up_invite) commit(core_->build_own_response(*request_, peer_, 408, {}, local_tag_), 408);
  if (terminate_now) remove_from_tables();
}

void ServerTx::arm_locked() {
  Clock::time_point next = std::min({trying_at_, retransmit_at_, end_at_});
  if (next >= queued_at_) return;  // an earlier wake-up is queued (or nothing is due)
  queued_at_ = next;
  core_->schedule(next, weak_from_this());
}

void ServerTx::settle_pending_locked() {
  if (!pending_counted_) return;
  pending_counted_ = false;
  core_->awaiting_final.fetch_sub(1, std::memory_order_relaxed);
}

void ServerTx::terminate_locked() {
  core_->deadlines.remove(deadline_link_);
  state_ = State::Terminated;
  last_response_.clear();
  trying_at_ = retransmit_at_ = end_at_ = Clock::time_point::max();
}

void ServerTx::enter_tables() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Terminated) return;
  }
  auto self = shared_from_this();
  // A twin already in the table (the same request read by two threads at
  // once) keeps the retransmissions; this one still answers its own request.
  const bool inserted = core_->servers.insert(key_, self).second;
  if (inserted && !merge_key_.empty()) core_->merging.insert(merge_key_, self);
  bool ended_meanwhile = false;
  {
    std::lock_guard lock(mutex_);
    in_tables_ = inserted;
    ended_meanwhile = state_ == State::Terminated;
  }
  // A final response from another thread may have ended it between the
  // insert and the flag: its remove_from_tables() saw no flag, so undo here.
  if (ended_meanwhile) remove_from_tables();
}

void ServerTx::remove_from_tables() {
  {
    std::lock_guard lock(mutex_);
    if (!in_tables_) return;
    in_tables_ = false;
  }
  auto self = shared_from_this();
  core_->servers.erase(key_, self);
  if (!merge_key_.empty()) core_->merging.erase(merge_key_, self);
}

void ServerTx::send(std::string bytes) { core_->transport.send(destination_, std::move(bytes)); }

}  // namespace cppbx::transaction
