#include "storage/call_record_store.hpp"

namespace cppbx::storage {
namespace {

long long to_millis(SystemClock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

SystemClock::time_point from_millis(long long millis) {
  return SystemClock::time_point(std::chrono::milliseconds(millis));
}

}  // namespace

void CallRecordStore::insert(const std::vector<CallRecord>& records) {
  if (records.empty()) return;
  database_.with_session([&](soci::session& session) {
    soci::transaction transaction(session);
    for (const CallRecord& record : records) {
      long long started = to_millis(record.started_at), ended = to_millis(record.ended_at);
      long long ringing = record.ringing_at ? to_millis(*record.ringing_at) : 0;
      long long answered = record.answered_at ? to_millis(*record.answered_at) : 0;
      soci::indicator ringing_null = record.ringing_at ? soci::i_ok : soci::i_null;
      soci::indicator answered_null = record.answered_at ? soci::i_ok : soci::i_null;
      int status = record.status_code;
      session << "INSERT INTO call_records (call_id, caller, callee, answered_by, caller_transport,"
                 " callee_transport, started_at, ringing_at, answered_at, ended_at, end_reason, status_code)"
                 " VALUES (:call_id, :caller, :callee, :answered_by, :caller_transport, :callee_transport,"
                 " :started_at, :ringing_at, :answered_at, :ended_at, :end_reason, :status_code)",
          soci::use(record.call_id), soci::use(record.caller), soci::use(record.callee),
          soci::use(record.answered_by), soci::use(record.caller_transport),
          soci::use(record.callee_transport), soci::use(started), soci::use(ringing, ringing_null),
          soci::use(answered, answered_null), soci::use(ended), soci::use(record.end_reason),
          soci::use(status);
    }
    transaction.commit();
    return 0;
  });
}

std::vector<CallRecord> CallRecordStore::recent(size_t limit) {
  return database_.with_session([&](soci::session& session) {
    std::vector<CallRecord> records;
    CallRecord row;
    long long started = 0, ringing = 0, answered = 0, ended = 0;
    soci::indicator ringing_null = soci::i_ok, answered_null = soci::i_ok;
    int status = 0;
    long long max_rows = static_cast<long long>(limit);
    soci::statement statement =
        (session.prepare << "SELECT call_id, caller, callee, answered_by, caller_transport, callee_transport,"
                            " started_at, ringing_at, answered_at, ended_at, end_reason, status_code"
                            " FROM call_records ORDER BY ended_at DESC, id DESC LIMIT :limit",
         soci::into(row.call_id), soci::into(row.caller), soci::into(row.callee),
         soci::into(row.answered_by), soci::into(row.caller_transport), soci::into(row.callee_transport),
         soci::into(started), soci::into(ringing, ringing_null), soci::into(answered, answered_null),
         soci::into(ended), soci::into(row.end_reason), soci::into(status), soci::use(max_rows));
    statement.execute();
    while (statement.fetch()) {
      CallRecord record = row;
      record.started_at = from_millis(started);
      record.ended_at = from_millis(ended);
      record.ringing_at = ringing_null == soci::i_ok ? std::optional(from_millis(ringing)) : std::nullopt;
      record.answered_at = answered_null == soci::i_ok ? std::optional(from_millis(answered)) : std::nullopt;
      record.status_code = status;
      records.push_back(std::move(record));
    }
    return records;
  });
}

}  // namespace cppbx::storage
