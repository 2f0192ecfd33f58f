// Runs blocking lookups (SQL queries through SOCI) on a few worker threads,
// so the SIP I/O threads never wait on a database.
//
// Two bounds keep an outage from turning into an unbounded queue: at most
// `max_in_flight` lookups are queued or running (one more is refused at once
// with an error), and each lookup is answered with an error once `timeout`
// has passed, even while its query is still stuck in the driver (a blocking
// query cannot be cancelled; the worker stays busy, and counts against
// max_in_flight, until it returns). An error answer becomes 503 with
// Retry-After upstream, so phones retry rather than give up.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "users/user_backend.hpp"

namespace cppbx::users {

class BlockingPool {
 public:
  struct Options {
    std::string name = "lookup";  // for log lines and error details
    size_t threads = 4;
    size_t max_in_flight = 256;
    std::chrono::milliseconds timeout{2000};
  };
  using Work = std::function<LookupResult()>;

  explicit BlockingPool(Options options);
  // Answers every queued lookup with an error, then joins the workers (a
  // query stuck in a driver delays this until it returns).
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `work` on a worker and calls `done` exactly once: with its result,
  // or with an error when the pool is full, the timeout passed first, or the
  // pool is shutting down. `done` may run on a worker, on the watchdog
  // thread, or inline (when refused).
  void submit(Work work, LookupCallback done);

  size_t in_flight() const;
  const Options& options() const { return options_; }

 private:
  struct Job;
  using JobPtr = std::shared_ptr<Job>;
  struct Deadline {
    std::chrono::steady_clock::time_point at;
    std::weak_ptr<Job> job;
    bool operator>(const Deadline& other) const { return at > other.at; }
  };

  void run_worker();
  void run_watchdog();
  static void answer(const JobPtr& job, LookupResult result);

  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable deadline_changed_;
  std::deque<JobPtr> queue_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread watchdog_;
};

}  // namespace cppbx::users
