#include "call/call_tracker.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/log_throttle.hpp"
#include "sip/headers.hpp"

namespace cppbx::call {
namespace {

constexpr std::chrono::seconds kSessionGrace{32};

// "1800;refresher=uac" -> 1800 s
std::chrono::seconds session_interval_of(const sip::Message& response) {
  const sip::Header* header = response.find(sip::HeaderId::SessionExpires);
  if (!header) return std::chrono::seconds(0);
  std::string_view value = header->value;
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  auto seconds = sip::parse_uint32(value);
  return std::chrono::seconds(seconds.value_or(0));
}

}  // namespace

class CallTracker::Observer final : public ForkObserver {
 public:
  Observer(std::weak_ptr<CallTracker> tracker, std::string key)
      : tracker_(std::move(tracker)), key_(std::move(key)) {}
  void on_ringing(const sip::Message&) override {
    if (auto tracker = tracker_.lock()) tracker->ringing(key_);
  }
  void on_answered(const sip::Message& response, const Target& target) override {
    if (auto tracker = tracker_.lock()) tracker->answered(key_, response, target);
  }
  void on_failed(int status_code, bool cancelled) override {
    if (auto tracker = tracker_.lock()) tracker->failed(key_, status_code, cancelled);
  }

 private:
  std::weak_ptr<CallTracker> tracker_;
  std::string key_;
};

CallTracker::CallTracker(std::shared_ptr<CallRecordSink> sink, CallTrackerOptions options, Now now)
    : sink_(std::move(sink)), options_(options), now_(now) {}

std::string CallTracker::key(std::string_view call_id, std::string_view caller_tag) {
  std::string key(call_id);
  key += '\n';
  key += caller_tag;
  return key;
}

std::shared_ptr<ForkObserver> CallTracker::begin(const sip::Message& invite, const transport::Peer& caller) {
  Call call;
  call.record.call_id = invite.call_id();
  call.record.caller = invite.from().uri.text;
  call.record.callee = invite.request_uri_text();
  call.record.caller_transport = transport::protocol_name(caller.protocol);
  call.record.started_at = now_();
  std::string call_key = key(invite.call_id(), invite.from().tag());
  {
    std::lock_guard lock(mutex_);
    calls_.insert_or_assign(call_key, std::move(call));
  }
  return std::make_shared<Observer>(weak_from_this(), std::move(call_key));
}

void CallTracker::ringing(const std::string& call_key) {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(call_key);
  if (it != calls_.end() && !it->second.record.ringing_at) it->second.record.ringing_at = now_();
}

void CallTracker::answered(const std::string& call_key, const sip::Message& response, const Target& target) {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(call_key);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.answered = true;
  call.record.answered_at = now_();
  call.refreshed_at = *call.record.answered_at;
  call.record.answered_by = target.contact;
  call.record.callee_transport = transport::protocol_name(target.flow.protocol);
  call.record.status_code = response.status_code();
  call.session_interval = session_interval_of(response);
  if (call.session_interval.count() == 0) call.session_interval = options_.default_session_interval;
}

void CallTracker::failed(const std::string& call_key, int status_code, bool cancelled) {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(call_key);
  if (it == calls_.end() || it->second.answered) return;
  it->second.record.status_code = status_code;
  finish_locked(it, cancelled ? "cancelled" : "failed");
}

void CallTracker::on_in_dialog_request(const sip::Message& request) {
  const sip::Method method = request.method();
  if (method != sip::Method::Bye && method != sip::Method::Invite && method != sip::Method::Update) return;
  std::lock_guard lock(mutex_);
  bool from_caller = true;
  auto it = calls_.find(key(request.call_id(), request.from().tag()));
  if (it == calls_.end()) {
    from_caller = false;
    it = calls_.find(key(request.call_id(), request.to().tag()));
  }
  if (it == calls_.end() || !it->second.answered) return;
  if (method == sip::Method::Bye) {
    finish_locked(it, from_caller ? "bye_caller" : "bye_callee");
  } else {
    it->second.refreshed_at = now_();
  }
}

void CallTracker::sweep() {
  std::lock_guard lock(mutex_);
  const auto now = now_();
  for (auto it = calls_.begin(); it != calls_.end();) {
    auto current = it++;
    const Call& call = current->second;
    if (!call.answered) continue;  // the fork's own timers end it
    if (call.session_interval.count() > 0 && now > call.refreshed_at + call.session_interval + kSessionGrace) {
      finish_locked(current, "session_expired");
    } else if (options_.max_duration.count() > 0 && now > *call.record.answered_at + options_.max_duration) {
      finish_locked(current, "max_duration");
    }
  }
}

size_t CallTracker::active_calls() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

void CallTracker::finish_locked(std::unordered_map<std::string, Call>::iterator call, std::string reason) {
  CallRecord record = std::move(call->second.record);
  calls_.erase(call);
  record.ended_at = now_();
  record.end_reason = std::move(reason);
  // The sink only queues the row; writing happens off this thread.
  if (sink_) sink_->write(std::move(record));
}

}  // namespace cppbx::call

namespace cppbx::call {
namespace {

// One writer thread takes whatever records queued up since its last write
// and inserts them in one transaction, so a busy PBX pays one commit per
// batch instead of one disk sync per call.
class DatabaseSink final : public CallRecordSink {
 public:
  explicit DatabaseSink(storage::Database& database) : store_(database), writer_([this] { run(); }) {}

  ~DatabaseSink() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_one();
    writer_.join();
  }

  void write(CallRecord record) override {
    {
      std::lock_guard lock(mutex_);
      if (queue_.size() >= kMaxQueued) {
        ++dropped_;
        if (auto held = drop_warnings_.admit()) {
          spdlog::warn("call records: {} waiting, one dropped ({} drops in all, {} warnings held back)",
                       queue_.size(), dropped_, *held);
        }
        return;
      }
      queue_.push_back(std::move(record));
      // Only the first record of a batch (or a full batch) needs the writer.
      if (queue_.size() != 1 && queue_.size() < kMaxBatch) return;
    }
    ready_.notify_one();
  }

 private:
  static constexpr size_t kMaxQueued = 100000;
  static constexpr size_t kMaxBatch = 1000;
  static constexpr std::chrono::milliseconds kGatherTime{200};

  void run() {
    for (;;) {
      std::vector<CallRecord> batch;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, everything written
        // Let the records of the next moment join this one: a few commits
        // (disk syncs) and wake-ups per second instead of one per call.
        ready_.wait_for(lock, kGatherTime, [this] { return stopping_ || queue_.size() >= kMaxBatch; });
        size_t count = std::min(queue_.size(), kMaxBatch);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + count));
        queue_.erase(queue_.begin(), queue_.begin() + count);
      }
      write_batch(batch);
    }
  }

  void write_batch(const std::vector<CallRecord>& batch) {
    try {
      store_.insert(batch);
    } catch (const std::exception& error) {
      if (auto held = error_warnings_.admit()) {
        spdlog::warn("{} call records not written: {} ({} warnings held back)", batch.size(), error.what(), *held);
      }
    }
  }

  storage::CallRecordStore store_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<CallRecord> queue_;
  bool stopping_ = false;
  uint64_t dropped_ = 0;
  log::Throttle drop_warnings_;
  log::Throttle error_warnings_;
  std::thread writer_;  // last: starts once everything above exists
};

}  // namespace

std::shared_ptr<CallRecordSink> make_database_call_record_sink(storage::Database& database) {
  return std::make_shared<DatabaseSink>(database);
}

}  // namespace cppbx::call
