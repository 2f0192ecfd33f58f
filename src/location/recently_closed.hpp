// The connection ids of this node's flows that closed lately, for locators
// that only learn a binding's connection once its REGISTER has been written:
// a flow may close while the write is in flight, when connection_closed()
// finds nothing to remove yet. The writer asks this set afterwards and
// removes what it just stored over a closed flow.
//
// Bounded (oldest forgotten first): a write outliving thousands of later
// closes is not worth unbounded memory. Connection ids are never reused
// within a run, so a remembered id never names a live flow. Not
// thread-safe: the owner guards it with the same lock as its record of
// stored bindings, so "closed" and "stored" are decided in one order.
#pragma once

#include <cstddef>
#include <deque>
#include <unordered_set>

#include "transport/transport.hpp"

namespace cppbx::location {

class RecentlyClosedConnections {
 public:
  explicit RecentlyClosedConnections(size_t capacity = 4096) : capacity_(capacity) {}

  void add(transport::ConnectionId connection) {
    if (connection == 0 || !ids_.insert(connection).second) return;
    order_.push_back(connection);
    if (order_.size() > capacity_) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
  }

  bool contains(transport::ConnectionId connection) const { return connection != 0 && ids_.count(connection) != 0; }
  size_t size() const { return order_.size(); }

 private:
  size_t capacity_;
  std::deque<transport::ConnectionId> order_;
  std::unordered_set<transport::ConnectionId> ids_;
};

}  // namespace cppbx::location
