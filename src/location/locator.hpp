// Where registered users are. The registrar decides what a REGISTER changes;
// the locator applies that change atomically per AoR and answers lookups.
// Like user backends, the interface is asynchronous so database, HTTP and
// Redis stores never block a SIP thread; callbacks run exactly once, inline
// or on another thread.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "location/binding.hpp"

namespace cppbx::location {

struct UpdateRequest {
  std::string aor;
  std::string call_id;
  uint32_t cseq = 0;
  bool remove_all = false;              // Contact: * with Expires: 0
  std::vector<Binding> upserts;         // create or refresh (by Binding::key)
  std::vector<std::string> removals;    // keys to remove (Expires 0)
  uint32_t max_bindings = 0;            // 0: the locator's own limit
};

enum class UpdateStatus {
  Ok,
  OutOfOrder,  // an existing binding has the same Call-ID and a CSeq >= this one
  Error,       // store unreachable: 503
};

// An AoR's binding list as a store holds it, immutable and shared: the
// memory locator answers a REGISTER with the very list it keeps rather than a
// copy (each binding is eight strings; two copies per registration were 5 %
// of its instructions). Reads like a const std::vector<Binding>.
class SharedBindings {
 public:
  SharedBindings() = default;
  SharedBindings(std::vector<Binding> bindings)  // NOLINT(google-explicit-constructor): a list converts
      : list_(std::make_shared<const std::vector<Binding>>(std::move(bindings))) {}
  SharedBindings(std::shared_ptr<const std::vector<Binding>> list)  // NOLINT(google-explicit-constructor)
      : list_(std::move(list)) {}

  const std::vector<Binding>& list() const { return list_ ? *list_ : empty_list(); }
  operator const std::vector<Binding>&() const { return list(); }  // NOLINT(google-explicit-constructor)
  operator std::span<const Binding>() const { return list(); }       // NOLINT(google-explicit-constructor)
  size_t size() const { return list().size(); }
  bool empty() const { return list().empty(); }
  std::vector<Binding>::const_iterator begin() const { return list().begin(); }
  std::vector<Binding>::const_iterator end() const { return list().end(); }
  const Binding& operator[](size_t index) const { return list()[index]; }

 private:
  static const std::vector<Binding>& empty_list() {
    static const std::vector<Binding> empty;
    return empty;
  }
  std::shared_ptr<const std::vector<Binding>> list_;
};

// The last `count` bindings of `list` (all of them when it holds fewer): an
// update's created or refreshed bindings, which always end the AoR's list.
inline std::span<const Binding> newest(const std::vector<Binding>& list, size_t count) {
  return std::span<const Binding>(list).last(std::min(count, list.size()));
}

struct UpdateResult {
  UpdateStatus status = UpdateStatus::Ok;
  SharedBindings current;           // every binding of the AoR after the update
  // How many bindings at the end of `current` this request created or
  // refreshed (an upsert always becomes the AoR's most recent binding).
  size_t registered_count = 0;
  std::vector<Binding> removed;     // removed by this request (incl. replaced oldest)
  std::string detail;

  std::span<const Binding> registered() const { return newest(current.list(), registered_count); }
};

// What list() enumerates: the unexpired bindings of every AoR whose text
// contains `aor_contains` (ASCII case-insensitive; empty: all), sorted by AoR
// then contact, one page of them.
struct ListRequest {
  std::string aor_contains;
  size_t offset = 0;
  size_t limit = 100;  // 0: all
};

struct ListResult {
  bool ok = true;                   // false: store unreachable, or listing unsupported
  std::vector<Binding> bindings;    // the page
  size_t total = 0;                 // matching bindings before paging
  std::string detail;
};

struct LookupResult {
  bool ok = true;                   // false: store unreachable
  std::vector<Binding> bindings;    // unexpired only
  std::string detail;
};

// Receives binding changes that happen outside a REGISTER's own answer:
// expiry and closed connections. (REGISTER changes are reported by the
// registrar from UpdateResult.)
class LocationObserver {
 public:
  virtual ~LocationObserver() = default;
  virtual void on_offline(const std::vector<Binding>& bindings) = 0;
};

class Locator {
 public:
  virtual ~Locator() = default;
  virtual std::string_view type() const = 0;
  virtual void update(UpdateRequest request, std::function<void(UpdateResult)> done) = 0;
  virtual void lookup(const std::string& aor, std::function<void(LookupResult)> done) = 0;
  // Enumerates bindings for the administration API (not a SIP path).
  // Every store's locator overrides both; the defaults (answering "not
  // supported") only spare test doubles written before these calls existed.
  virtual void list(ListRequest request, std::function<void(ListResult)> done) {
    (void)request;
    ListResult result;
    result.ok = false;
    result.detail = "listing not supported by this locator";
    done(std::move(result));
  }
  // Removes one binding (by Binding::key()) of an AoR, whatever its Call-ID;
  // `removed` holds it (empty when there was none). Reporting it (webhook,
  // logs) is the caller's job, as for the registrar's own removals.
  virtual void remove(std::string aor, std::string key, std::function<void(UpdateResult)> done) {
    (void)aor;
    (void)key;
    UpdateResult result;
    result.status = UpdateStatus::Error;
    result.detail = "removal not supported by this locator";
    done(std::move(result));
  }
  // Removes every binding that was registered over this connection.
  virtual void connection_closed(transport::ConnectionId connection) = 0;
  virtual void set_observer(std::shared_ptr<LocationObserver> observer) = 0;
  virtual size_t binding_count() const = 0;
  // Background work (sweeper, connections); both idempotent.
  virtual void start() {}
  virtual void stop() {}
};

}  // namespace cppbx::location
