// See client_transaction.hpp for the design.
#include "transaction/client_transaction.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/post.hpp>

#include "sip/parser.hpp"

namespace cppbx::transaction {

ClientTx::ClientTx(CorePtr core, transport::Peer to, sip::Method method, std::string branch, std::string request,
                   TransactionLayer::ResponseHandler on_response, std::string key)
    : core_(std::move(core)),
      to_(std::move(to)),
      invite_(method == sip::Method::Invite),
      branch_(std::move(branch)),
      request_(std::move(request)),
      on_response_(std::move(on_response)),
      key_(std::move(key)) {}

void ClientTx::start() {
  if (!core_->transport.send(to_, request_)) {
    {
      std::lock_guard lock(mutex_);
      terminate_locked();
    }
    remove_from_table();
    // Report asynchronously: the caller may not expect its handler to run
    // before send_request() returned.
    boost::asio::post(core_->io, [self = shared_from_this()] {
      self->deliver({ClientResult::Kind::TransportError, nullptr});
    });
    return;
  }
  std::lock_guard lock(mutex_);
  if (state_ == State::Terminated) return;  // a response or cancel_timers() beat us
  Clock::time_point now = Clock::now();
  const Timers& timers = core_->options.timers;
  if (!reliable()) {
    retransmit_interval_ = timers.t1;  // Timer A / E
    retransmit_at_ = now + retransmit_interval_;
  }
  end_at_ = now + 64 * timers.t1;  // Timer B / F
  arm_locked();
}

void ClientTx::cancel_timers() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Terminated) return;
    terminate_locked();
  }
  remove_from_table();
}

void ClientTx::on_response(transport::Inbound&& inbound) {
  const int code = inbound.parsed.message->status_code();
  std::string ack_to_send;
  bool terminate_now = false;
  bool deliver_it = true;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Terminated) return;
    const Timers& timers = core_->options.timers;
    Clock::time_point now = Clock::now();
    if (state_ == State::Completed) {
      // A retransmitted final response: the core has it already; if our ACK
      // got lost, send it again (Timer D absorbs these).
      deliver_it = false;
      if (invite_ && code >= 300) ack_to_send = ack_;
    } else if (code < 200) {
      state_ = State::Proceeding;
      if (invite_) {
        retransmit_at_ = Clock::time_point::max();  // Timer A stops
      } else if (!reliable()) {
        retransmit_interval_ = timers.t2;
        retransmit_at_ = now + retransmit_interval_;
      }
      arm_locked();
    } else if (invite_ && code < 300) {
      terminate_locked();
      terminate_now = true;
    } else {
      state_ = State::Completed;
      retransmit_at_ = Clock::time_point::max();
      if (invite_) {
        ack_ = build_ack(*inbound.parsed.message);
        ack_to_send = ack_;
      }
      if (reliable()) {
        terminate_locked();  // Timers D and K are zero on reliable transports
        terminate_now = true;
      } else {
        end_at_ = now + (invite_ ? Clock::duration(64 * timers.t1) : Clock::duration(timers.t4));  // D / K
        arm_locked();
      }
    }
  }
  if (!ack_to_send.empty()) core_->transport.send(to_, std::move(ack_to_send));
  if (terminate_now) remove_from_table();
  if (!deliver_it) return;
  std::shared_ptr<const sip::Message> response = std::move(inbound.parsed.message);
  deliver({ClientResult::Kind::Response, std::move(response)});
}

void ClientTx::on_timer_due() {
  std::string resend;
  bool timed_out = false;
  bool terminate_now = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::Terminated) return;
    Clock::time_point now = Clock::now();
    if (now >= queued_at_) queued_at_ = Clock::time_point::max();  // that wake-up is this one
    if (now >= retransmit_at_) {
      resend = request_;
      retransmit_interval_ = retransmit_interval_ * 2;
      // Timer A doubles without bound; E is capped at T2 (and stays T2 once proceeding).
      if (!invite_) retransmit_interval_ = std::min<Clock::duration>(retransmit_interval_, core_->options.timers.t2);
      retransmit_at_ = now + retransmit_interval_;
    }
    if (now >= end_at_) {
      timed_out = state_ != State::Completed;  // B / F; D / K just end quietly
      terminate_locked();
      terminate_now = true;
      resend.clear();
    } else {
      arm_locked();
    }
  }
  if (!resend.empty()) core_->transport.send(to_, std::move(resend));
  if (terminate_now) remove_from_table();
  if (timed_out) deliver({ClientResult::Kind::Timeout, nullptr});
}

void ClientTx::arm_locked() {
  Clock::time_point next = std::min(retransmit_at_, end_at_);
  if (next >= queued_at_) return;  // an earlier wake-up is queued (or nothing is due)
  queued_at_ = next;
  core_->schedule(next, weak_from_this());
}

void ClientTx::terminate_locked() {
  state_ = State::Terminated;
  retransmit_at_ = end_at_ = Clock::time_point::max();
}

void ClientTx::remove_from_table() { core_->clients.erase(key_, shared_from_this()); }

void ClientTx::deliver(const ClientResult& result) {
  if (on_response_) on_response_(result);
}

std::string ClientTx::build_ack(const sip::Message& response) const {
  sip::ParseResult sent = sip::parse_message(request_);
  if (sent.status != sip::ParseStatus::Ok || !sent.message) return {};
  const sip::Message& invite = *sent.message;
  std::string ack;
  ack.reserve(request_.size());
  ack += "ACK ";
  ack += invite.request_uri_text();
  ack += " SIP/2.0\r\nVia: ";
  ack += invite.top_via().text;
  ack += "\r\n";
  for (const sip::Header& header : invite.headers()) {
    if (header.id != sip::HeaderId::Route) continue;
    ack += "Route: ";
    ack += header.value;
    ack += "\r\n";
  }
  ack += "Max-Forwards: 70\r\nFrom: ";
  ack += invite.from().text;
  ack += "\r\nTo: ";
  ack += response.to().text;
  ack += "\r\nCall-ID: ";
  ack += invite.call_id();
  ack += "\r\nCSeq: ";
  char digits[16];
  auto end = std::to_chars(digits, digits + sizeof digits, invite.cseq().number).ptr;
  ack.append(digits, end);
  ack += " ACK\r\nContent-Length: 0\r\n\r\n";
  return ack;
}

}  // namespace cppbx::transaction
