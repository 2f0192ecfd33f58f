// Call progress per dialog, for call records. A record starts when an INVITE
// is forked, gains ringing and answer times from the fork, and ends with the
// final error, the caller's CANCEL, a BYE (from either side), or — for a
// dialog whose BYE never comes — when it outlives its session interval
// (RFC 4028 Session-Expires of the 2xx, refreshed by every re-INVITE or
// UPDATE, plus 32 s of grace) or the configured maximum call duration.
// Finished records go to a CallRecordSink (the call_records table).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "call/fork.hpp"
#include "storage/call_record_store.hpp"

namespace cppbx::call {

using SystemClock = std::chrono::system_clock;
using storage::CallRecord;

class CallRecordSink {
 public:
  virtual ~CallRecordSink() = default;
  // Must not block: queue the record and write it elsewhere.
  virtual void write(CallRecord record) = 0;
};

// Writes records into the call_records table on a writer thread, in batches
// (one transaction each), bounded: when the database cannot keep up, records
// beyond the bound are dropped and counted, with a throttled warning.
std::shared_ptr<CallRecordSink> make_database_call_record_sink(storage::Database& database);

struct CallTrackerOptions {
  std::chrono::seconds max_duration{std::chrono::hours(4)};
  // Session interval used when the 2xx names none but session timers are
  // on; zero: only Session-Expires of the 2xx counts.
  std::chrono::seconds default_session_interval{0};
};

class CallTracker : public std::enable_shared_from_this<CallTracker> {
 public:
  using Now = SystemClock::time_point (*)();
  CallTracker(std::shared_ptr<CallRecordSink> sink, CallTrackerOptions options,
              Now now = &SystemClock::now);

  // A new INVITE is being forked: its observer feeds the record.
  std::shared_ptr<ForkObserver> begin(const sip::Message& invite, const transport::Peer& caller);
  // An in-dialog request went through: BYE ends the call, re-INVITE and
  // UPDATE refresh its session interval.
  void on_in_dialog_request(const sip::Message& request);
  // Ends the calls that outlived their session interval or the maximum.
  void sweep();
  size_t active_calls() const;

 private:
  class Observer;
  struct Call {
    CallRecord record;
    bool answered = false;
    std::chrono::seconds session_interval{0};
    SystemClock::time_point refreshed_at;
  };
  static std::string key(std::string_view call_id, std::string_view caller_tag);
  void ringing(const std::string& key);
  void answered(const std::string& key, const sip::Message& response, const Target& target);
  void failed(const std::string& key, int status_code, bool cancelled);
  void finish_locked(std::unordered_map<std::string, Call>::iterator call, std::string reason);

  std::shared_ptr<CallRecordSink> sink_;
  CallTrackerOptions options_;
  Now now_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Call> calls_;
};

}  // namespace cppbx::call
