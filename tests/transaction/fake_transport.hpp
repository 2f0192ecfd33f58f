// Test double for the transport: records what the transaction layer sends
// instead of touching sockets, so transaction tests are deterministic.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "sip/parser.hpp"
#include "transport/transport.hpp"

namespace cppbx::transaction::testing {

class FakeTransport : public transport::TransportLayer {
 public:
  struct Sent {
    transport::Peer to;
    std::string bytes;
  };

  void set_inbound_handler(InboundHandler) override {}
  void set_closed_handler(ClosedHandler) override {}
  void start() override {}
  void stop() override {}
  bool send(const transport::Peer& to, std::string bytes) override {
    std::lock_guard lock(mutex_);
    sent_.push_back({to, std::move(bytes)});
    return accept_sends;
  }
  uint16_t udp_port() const override { return 0; }
  uint16_t tcp_port() const override { return 0; }
  size_t connection_count() const override { return 0; }

  std::vector<Sent> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  size_t count_starting_with(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& s : sent_) n += std::string_view(s.bytes).starts_with(prefix) ? 1 : 0;
    return n;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    sent_.clear();
  }

  bool accept_sends = true;

 private:
  mutable std::mutex mutex_;
  std::vector<Sent> sent_;
};

struct RequestFields {
  std::string method = "REGISTER";
  std::string uri = "sip:example.com";
  std::string branch = "z9hG4bK-test-1";
  std::string via_extra;  // e.g. ";rport"
  std::string from_tag = "ftag1";
  std::string to_tag;
  std::string call_id = "call-1@192.0.2.10";
  uint32_t cseq = 1;
  std::string cseq_method;  // empty: same as method
  std::string version = "SIP/2.0";
};

inline std::string make_request(const RequestFields& f) {
  std::string to = "<sip:alice@example.com>";
  if (!f.to_tag.empty()) to += ";tag=" + f.to_tag;
  return f.method + " " + f.uri + " " + f.version + "\r\n" +
         "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=" + f.branch + f.via_extra + "\r\n" +
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@example.com>;tag=" + f.from_tag + "\r\n" +
         "To: " + to + "\r\n" +
         "Call-ID: " + f.call_id + "\r\n" +
         "CSeq: " + std::to_string(f.cseq) + " " + (f.cseq_method.empty() ? f.method : f.cseq_method) + "\r\n" +
         "Content-Length: 0\r\n\r\n";
}

inline transport::Peer udp_peer(uint16_t port = 5062) {
  return {transport::Protocol::Udp, boost::asio::ip::make_address("192.0.2.10"), port, 0};
}

inline transport::Inbound make_inbound(std::string_view bytes, transport::Peer peer = udp_peer()) {
  transport::Inbound inbound;
  inbound.parsed = sip::parse_message(bytes);
  inbound.peer = peer;
  inbound.local = {peer.protocol, boost::asio::ip::make_address("192.0.2.1"), 5060};
  inbound.size = bytes.size();
  return inbound;
}

}  // namespace cppbx::transaction::testing
