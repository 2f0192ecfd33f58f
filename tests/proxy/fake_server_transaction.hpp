// A server transaction that records what the module under test answers,
// shared by the tests of the proxy layer. Thread-safe like the real one, as
// modules may answer from a backend's thread.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sip/parser.hpp"
#include "transaction/transaction_layer.hpp"

namespace cppbx::proxy::testing {

struct RecordedResponse {
  int code = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  bool stateless = false;  // sent with respond_statelessly()

  std::vector<std::string> values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers) {
      if (n == name) out.push_back(v);
    }
    return out;
  }
};

class FakeServerTransaction : public transaction::ServerTransaction {
 public:
  FakeServerTransaction(sip::Message request, transport::Peer peer)
      : request_(std::move(request)), peer_(std::move(peer)) {}
  // From a UDP peer at `address`, port 5060.
  explicit FakeServerTransaction(sip::Message request, std::string_view address = "192.0.2.10")
      : request_(std::move(request)) {
    peer_.address = boost::asio::ip::make_address(address);
    peer_.port = 5060;
  }

  const sip::Message& request() const override { return request_; }
  const transport::Peer& peer() const override { return peer_; }
  const transport::LocalEndpoint& local() const override { return local_; }
  bool respond(const sip::ResponseSpec& spec) override {
    std::lock_guard lock(mutex_);
    if (completed_) return false;
    RecordedResponse response{spec.code, std::string(spec.reason), {}};
    for (const auto& [name, value] : spec.headers) response.headers.emplace_back(name, value);
    responses_.push_back(std::move(response));
    completed_ = spec.code >= 200;
    return true;
  }
  bool respond_statelessly(const sip::ResponseSpec& spec) override {
    if (!respond(spec)) return false;
    std::lock_guard lock(mutex_);
    responses_.back().stateless = true;
    return true;
  }
  bool respond_raw(std::string, int status_code) override {
    std::lock_guard lock(mutex_);
    if (completed_) return false;
    responses_.push_back({status_code, "raw", {}});
    completed_ = status_code >= 200;
    return true;
  }
  void drop() override {
    std::lock_guard lock(mutex_);
    dropped_ = true;
    completed_ = true;
  }
  bool completed() const override {
    std::lock_guard lock(mutex_);
    return completed_;
  }
  std::string_view local_tag() const override { return "fake-tag"; }

  std::vector<RecordedResponse> responses() const {
    std::lock_guard lock(mutex_);
    return responses_;
  }
  bool dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

 private:
  sip::Message request_;
  transport::Peer peer_;
  transport::LocalEndpoint local_;
  mutable std::mutex mutex_;
  std::vector<RecordedResponse> responses_;
  bool completed_ = false;
  bool dropped_ = false;
};

// Parses `text` (which must be valid) into a fake transaction from `peer`.
inline std::shared_ptr<FakeServerTransaction> make_fake_transaction(
    const std::string& text, transport::Peer peer = {}) {
  sip::ParseResult parsed = sip::parse_message(text);
  if (parsed.status != sip::ParseStatus::Ok || !parsed.message) return nullptr;
  return std::make_shared<FakeServerTransaction>(std::move(*parsed.message), std::move(peer));
}

}  // namespace cppbx::proxy::testing
