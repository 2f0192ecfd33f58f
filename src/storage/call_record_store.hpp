// The call_records table (migration 4): one row per finished call, written
// by the call module's records sink and read by tests and the console.
// Times are Unix milliseconds; ringing_at and answered_at are NULL when the
// call never rang or was never answered.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace cppbx::storage {

using SystemClock = std::chrono::system_clock;

struct CallRecord {
  std::string call_id;
  std::string caller;            // From URI of the INVITE
  std::string callee;            // Request-URI of the INVITE as received
  std::string answered_by;       // the Contact that answered, empty if none
  std::string caller_transport;  // "udp", "tcp", "tls", "ws", "wss"
  std::string callee_transport;  // of the answering branch, empty if none
  SystemClock::time_point started_at;
  std::optional<SystemClock::time_point> ringing_at;
  std::optional<SystemClock::time_point> answered_at;
  SystemClock::time_point ended_at;
  // "bye_caller", "bye_callee", "cancelled", "failed", "session_expired",
  // "max_duration"
  std::string end_reason;
  int status_code = 0;           // the final response the caller got
};

class CallRecordStore {
 public:
  // `database` must outlive the store.
  explicit CallRecordStore(Database& database) : database_(database) {}
  // Blocking: call from a worker thread. Throws soci::soci_error. All rows
  // in one transaction: one commit (one disk sync on SQLite) per batch.
  void insert(const std::vector<CallRecord>& records);
  // Most recent first (by ended_at), at most `limit`.
  std::vector<CallRecord> recent(size_t limit);

 private:
  Database& database_;
};

}  // namespace cppbx::storage
