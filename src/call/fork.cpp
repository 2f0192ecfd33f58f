#include "call/fork.hpp"

#include <spdlog/spdlog.h>

#include "sip/builder.hpp"

namespace cppbx::call {
namespace {

using transaction::ClientResult;

// 16.7 step 6: the class a final belongs to for selection; 6xx first, then
// the lowest class.
int selection_rank(int code) {
  if (code >= 600) return 0;
  return code / 100;  // 3, 4, 5
}

bool preferred_within_class(int code) {
  return code == 401 || code == 407 || code == 415 || code == 420 || code == 484;
}

bool same_transport_family(transport::Protocol a, transport::Protocol b) { return a == b; }

}  // namespace

bool better_final(int candidate, int current) {
  if (current == 0) return true;
  int candidate_rank = selection_rank(candidate);
  int current_rank = selection_rank(current);
  if (candidate_rank != current_rank) return candidate_rank < current_rank;
  return preferred_within_class(candidate) && !preferred_within_class(current);
}

struct Fork::Branch {
  size_t index = 0;
  Target target;
  std::string id;      // Via branch
  std::string bytes;   // the request as sent, kept for its CANCEL
  bool provisional = false;
  bool finished = false;
  bool cancel_wanted = false;
  bool cancel_sent = false;
};

Fork::Fork(std::shared_ptr<ForkEnvironment> environment, transaction::ServerTransactionPtr server,
           Options options)
    : environment_(std::move(environment)),
      server_(std::move(server)),
      options_(std::move(options)),
      invite_(server_->request().method() == sip::Method::Invite),
      caller_via_(via_with_source(server_->request().top_via(), server_->peer())) {}

Fork::~Fork() = default;

void Fork::start(std::vector<Target> targets) {
  if (invite_) {
    server_->respond({.code = 100});
    environment_->registry.add(shared_from_this());
  }
  {
    std::lock_guard lock(mutex_);
    if (invite_) arm_timer_c_locked();
    for (auto& target : targets) {
      auto branch = std::make_unique<Branch>();
      branch->index = branches_.size();
      branch->target = std::move(target);
      branch->id = transaction::new_branch();
      branch->bytes = build_request(*branch);
      branches_.push_back(std::move(branch));
    }
  }
  // Branches are complete before the first send, so a response arriving at
  // once finds every branch in place.
  for (auto& branch : branches_) send_branch(*branch);
}

void Fork::send_branch(Branch& branch) {
  // The client transaction holds this fork (its handler) while it lives; the
  // fork does not hold the transaction back, or neither would ever be freed.
  auto self = shared_from_this();
  size_t index = branch.index;
  environment_->transactions.send_request(
      branch.target.flow, server_->request().method(), branch.id, branch.bytes,
      [self, index](const ClientResult& result) { self->on_branch_result(index, result); });
}

std::string Fork::build_request(const Branch& branch) const {
  const sip::Message& request = server_->request();
  const transport::Protocol out = branch.target.flow.protocol;
  sip::MessageEditor editor(request);
  if (!branch.target.request_uri.empty()) editor.set_request_uri(branch.target.request_uri);
  int max_forwards = request.max_forwards();
  editor.set_max_forwards(max_forwards < 0 ? 70 : max_forwards - 1);
  for (size_t i = 0; i < options_.own_routes; ++i) editor.remove_first_value(sip::HeaderId::Route);
  for (auto route = branch.target.routes.rbegin(); route != branch.target.routes.rend(); ++route) {
    editor.insert_before_first(sip::HeaderId::Route, "Route", *route);
  }
  if (options_.record_route) {
    DialogRoute dialog{std::string(request.from().tag()), server_->peer(), branch.target.flow};
    std::string params = environment_->signer.parameters(request.call_id(), dialog);
    const auto& addresses = environment_->addresses;
    const transport::Protocol in = server_->peer().protocol;
    // Two entries when the legs differ in transport (RFC 3261 16.6 step 4,
    // RFC 5658): each side routes to the entry that faces it.
    if (!same_transport_family(in, out)) {
      editor.insert_before_first(sip::HeaderId::RecordRoute, "Record-Route",
                                 record_route_value(addresses.host, addresses.port_for(in), in, params));
    }
    editor.insert_before_first(sip::HeaderId::RecordRoute, "Record-Route",
                               record_route_value(addresses.host, addresses.port_for(out), out, params));
  }
  editor.remove_first_value(sip::HeaderId::Via);
  editor.insert_before_first(sip::HeaderId::Via, "Via", caller_via_);
  editor.insert_before_first(sip::HeaderId::Via, "Via", environment_->addresses.via(out, branch.id));
  return editor.serialize();
}

// RFC 3261 9.1: same Request-URI, Call-ID, From, To, CSeq number and Route
// as the INVITE, its top Via only.
std::string Fork::build_cancel(const Branch& branch) const {
  const sip::Message& request = server_->request();
  std::string request_uri =
      branch.target.request_uri.empty() ? std::string(request.request_uri_text()) : branch.target.request_uri;
  std::string out = "CANCEL " + request_uri + " SIP/2.0\r\n";
  out += "Via: " + environment_->addresses.via(branch.target.flow.protocol, branch.id) + "\r\n";
  out += "Max-Forwards: 70\r\n";
  for (const auto& route : branch.target.routes) out += "Route: " + route + "\r\n";
  out += "From: ";
  out += request.from().text;
  out += "\r\nTo: ";
  out += request.to().text;
  out += "\r\nCall-ID: ";
  out += request.call_id();
  out += "\r\nCSeq: " + std::to_string(request.cseq().number) + " CANCEL\r\n";
  out += "Content-Length: 0\r\n\r\n";
  return out;
}

void Fork::on_branch_result(size_t index, const ClientResult& result) {
  std::vector<std::string> cancels;
  {
    std::unique_lock lock(mutex_);
    if (index >= branches_.size()) return;
    Branch& branch = *branches_[index];
    if (branch.finished) return;
    if (result.kind != ClientResult::Kind::Response) {
      // Timer B/F or a send failure: the branch counts as 408 (16.7 step 2)
      // or 503 (unreachable).
      int code = result.kind == ClientResult::Kind::Timeout ? 408 : 503;
      on_final(branch, nullptr, code, cancels);
    } else if (result.response->status_code() < 200) {
      on_provisional(branch, *result.response, cancels);
    } else {
      on_final(branch, result.response, result.response->status_code(), cancels);
    }
  }
  send_cancels(std::move(cancels));
}

void Fork::on_provisional(Branch& branch, const sip::Message& response, std::vector<std::string>& cancels) {
  branch.provisional = true;
  if (branch.cancel_wanted && !branch.cancel_sent) {
    branch.cancel_sent = true;
    cancels.push_back(build_cancel(branch));
  }
  if (response.status_code() == 100 || final_sent_) return;
  if (invite_) arm_timer_c_locked();
  if (options_.observer && (response.status_code() == 180 || response.status_code() == 183)) {
    options_.observer->on_ringing(response);
  }
  forward_to_caller(response);
}

void Fork::on_final(Branch& branch, std::shared_ptr<const sip::Message> response, int code,
                    std::vector<std::string>& cancels) {
  branch.finished = true;
  if (code < 300) {
    // Every 2xx goes to the caller, even after the first (16.7 step 5).
    bool first = !final_sent_;
    final_sent_ = true;
    if (response) forward_to_caller(*response);
    if (first) {
      if (options_.observer) options_.observer->on_answered(*response, branch.target);
      cancel_pending_locked(cancels);
    }
  } else if (!final_sent_) {
    if (better_final(code, best_code_)) {
      best_code_ = code;
      best_ = std::move(response);
    }
    if (code >= 600) cancel_pending_locked(cancels);
  }
  finish_if_done_locked();
}

void Fork::cancel_pending_locked(std::vector<std::string>& cancels) {
  if (!invite_) return;
  cancelling_ = true;
  for (auto& branch : branches_) {
    if (branch->finished || branch->cancel_wanted) continue;
    branch->cancel_wanted = true;
    // Without a provisional response the CANCEL waits for one (RFC 3261 9.1).
    if (branch->provisional) {
      branch->cancel_sent = true;
      cancels.push_back(build_cancel(*branch));
    }
  }
}

void Fork::send_cancels(std::vector<std::string> cancels) {
  // Matching a branch to its CANCEL by the branch id in the Via.
  for (auto& cancel : cancels) {
    size_t at = cancel.find(";branch=");
    size_t end = cancel.find(';', at + 8);
    std::string id = cancel.substr(at + 8, end - at - 8);
    transport::Peer flow;
    {
      std::lock_guard lock(mutex_);
      for (auto& branch : branches_) {
        if (branch->id == id) flow = branch->target.flow;
      }
    }
    environment_->transactions.send_request(flow, sip::Method::Cancel, id, std::move(cancel),
                                           [](const ClientResult&) {});
  }
}

void Fork::finish_if_done_locked() {
  bool all_finished = true;
  for (auto& branch : branches_) all_finished = all_finished && branch->finished;
  bool answer_now = !final_sent_ && (all_finished || best_code_ >= 600);
  if (answer_now) {
    final_sent_ = true;
    if (best_) {
      forward_to_caller(*best_);
    } else {
      // No branch gave a response: 408, and 503 from a transport becomes
      // 500 (16.7 step 6).
      answer_caller(best_code_ == 503 ? 500 : (best_code_ == 0 ? 408 : best_code_));
    }
    if (options_.observer) options_.observer->on_failed(best_code_ == 0 ? 408 : best_code_, cancelled_by_caller_);
  }
  if (all_finished) {
    timer_c_at_ = std::chrono::steady_clock::time_point::max();  // Timer C stops
    if (invite_) environment_->registry.remove(server_.get());
  }
}

void Fork::answer_caller(int code) { server_->respond({.code = code}); }

void Fork::forward_to_caller(const sip::Message& response) {
  int code = response.status_code();
  if (code == 503) {
    // A 503 from downstream says the callee is overloaded, not this proxy:
    // the caller gets 500 so that it does not mark us as down (16.7 step 6).
    server_->respond({.code = 500});
    return;
  }
  sip::MessageEditor editor(response);
  editor.remove_first_value(sip::HeaderId::Via);
  server_->respond_raw(editor.serialize(), code);
}

void Fork::cancel_by_caller() {
  std::vector<std::string> cancels;
  {
    std::lock_guard lock(mutex_);
    cancelled_by_caller_ = true;
    // The transaction layer answered the INVITE 487 already.
    if (!final_sent_) {
      final_sent_ = true;
      if (options_.observer) options_.observer->on_failed(487, true);
    }
    cancel_pending_locked(cancels);
  }
  send_cancels(std::move(cancels));
}

// Timer C's entry in the transaction layer's timer wheel: an object of its
// own, allocated apart from the fork, because the wheel keeps a weak
// reference until the (minutes long) deadline passes, and a weak reference
// to a make_shared fork would keep the fork's whole memory block until then.
struct Fork::TimerC final : transaction::TimerTarget {
  explicit TimerC(std::weak_ptr<Fork> owner) : fork(std::move(owner)) {}
  void on_timer_due() override {
    if (auto owner = fork.lock()) owner->on_timer_c_due();
  }
  std::weak_ptr<Fork> fork;
};

// A provisional response moves the deadline on; the wake-up already queued
// for the earlier deadline then finds it moved and queues the new one.
void Fork::arm_timer_c_locked() {
  timer_c_at_ = std::chrono::steady_clock::now() + environment_->timer_c;
  if (timer_c_queued_at_ != std::chrono::steady_clock::time_point::max()) return;
  if (!timer_c_) timer_c_ = std::shared_ptr<TimerC>(new TimerC(weak_from_this()));
  timer_c_queued_at_ = timer_c_at_;
  environment_->transactions.schedule(timer_c_at_, timer_c_);
}

void Fork::on_timer_c_due() {
  std::vector<std::string> cancels;
  {
    std::lock_guard lock(mutex_);
    timer_c_queued_at_ = std::chrono::steady_clock::time_point::max();
    if (timer_c_at_ == std::chrono::steady_clock::time_point::max()) return;  // every branch ended
    if (std::chrono::steady_clock::now() < timer_c_at_) {
      timer_c_queued_at_ = timer_c_at_;
      environment_->transactions.schedule(timer_c_at_, timer_c_);
      return;
    }
    timer_c_at_ = std::chrono::steady_clock::time_point::max();
    fire_timer_c_locked(cancels);
  }
  spdlog::info("call {}: timer C fired, branches cancelled", server_->request().call_id());
  send_cancels(std::move(cancels));
}

void Fork::fire_timer_c_locked(std::vector<std::string>& cancels) {
  if (!final_sent_) {
    final_sent_ = true;
    answer_caller(408);
    if (options_.observer) options_.observer->on_failed(408, false);
  }
  cancel_pending_locked(cancels);
}

void ForkRegistry::add(const ForkPtr& fork) {
  std::lock_guard lock(mutex_);
  forks_[fork->server().get()] = fork;
}

void ForkRegistry::remove(const transaction::ServerTransaction* server) {
  std::lock_guard lock(mutex_);
  forks_.erase(server);
}

ForkPtr ForkRegistry::find(const transaction::ServerTransaction* server) const {
  std::lock_guard lock(mutex_);
  auto it = forks_.find(server);
  return it == forks_.end() ? nullptr : it->second.lock();
}

size_t ForkRegistry::size() const {
  std::lock_guard lock(mutex_);
  return forks_.size();
}

}  // namespace cppbx::call
