// A flow is one connection-oriented SIP connection (TCP, TLS, WS or WSS) as
// the layer's send() and stop() see it: something that takes bytes and can be
// closed, named by a ConnectionId unique across every protocol of the layer
// (the locator takes bindings offline by that id alone).
//
// FlowTable is the only state a listener shares between threads: one mutex,
// held only for map look-ups; all socket work happens on each flow's strand.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "transport/transport.hpp"

namespace cppbx::transport {

class Flow {
 public:
  virtual ~Flow() = default;
  // Thread-safe: both post onto the flow's strand.
  virtual void send(std::string bytes) = 0;
  virtual void close() = 0;
  virtual ConnectionId id() const = 0;
  virtual const Peer& peer() const = 0;
};

class FlowTable {
 public:
  using Endpoint = boost::asio::ip::tcp::endpoint;

  void add(const std::shared_ptr<Flow>& flow) {
    std::lock_guard lock(mutex_);
    flows_[flow->id()] = flow;
    if (flow->peer().port != 0) by_remote_[remote_of(flow->peer())] = flow->id();
  }
  // Adds `flow` unless a flow to `remote` exists already; returns the one kept.
  std::shared_ptr<Flow> add_unless_present(const Endpoint& remote, const std::shared_ptr<Flow>& flow) {
    std::lock_guard lock(mutex_);
    if (auto existing = find_remote_locked(remote)) return existing;
    flows_[flow->id()] = flow;
    by_remote_[remote] = flow->id();
    return flow;
  }
  void remove(const Flow& flow) {
    std::lock_guard lock(mutex_);
    flows_.erase(flow.id());
    auto it = by_remote_.find(remote_of(flow.peer()));
    if (it != by_remote_.end() && it->second == flow.id()) by_remote_.erase(it);
  }
  std::shared_ptr<Flow> find(ConnectionId id) const {
    std::lock_guard lock(mutex_);
    auto it = flows_.find(id);
    return it == flows_.end() ? nullptr : it->second;
  }
  std::shared_ptr<Flow> find_remote(const Endpoint& remote) const {
    std::lock_guard lock(mutex_);
    return find_remote_locked(remote);
  }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return flows_.size();
  }
  std::vector<std::shared_ptr<Flow>> all() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<Flow>> result;
    result.reserve(flows_.size());
    for (const auto& [id, flow] : flows_) result.push_back(flow);
    return result;
  }

 private:
  static Endpoint remote_of(const Peer& peer) { return Endpoint(peer.address, peer.port); }
  std::shared_ptr<Flow> find_remote_locked(const Endpoint& remote) const {
    auto it = by_remote_.find(remote);
    if (it == by_remote_.end()) return nullptr;
    auto found = flows_.find(it->second);
    return found == flows_.end() ? nullptr : found->second;
  }

  mutable std::mutex mutex_;
  std::unordered_map<ConnectionId, std::shared_ptr<Flow>> flows_;
  std::map<Endpoint, ConnectionId> by_remote_;
};

}  // namespace cppbx::transport
