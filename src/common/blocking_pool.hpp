// Runs blocking work (SQL queries through SOCI, synchronous Redis calls) on
// a few worker threads, so the SIP I/O threads never wait on a store.
//
// Two bounds keep an outage from turning into an unbounded queue: at most
// `max_in_flight` jobs are queued or running (one more is refused at once
// with an error), and each job is answered with an error once `timeout` has
// passed, even while its query is still stuck in the driver (a blocking
// query cannot be cancelled; the worker stays busy, and counts against
// max_in_flight, until it returns). Upstream an error answer becomes 503
// with Retry-After, so phones retry rather than give up.
//
// A job is answered by whoever gets there first, the worker with the result
// or the watchdog with a timeout; an `answered` flag makes that race
// harmless. Deadlines hold weak pointers so a job finished early does not
// linger until its deadline comes up. `Result` is the answer type of one
// layer (a user lookup, a location update); `make_error` builds its error.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cppbx {

struct BlockingPoolOptions {
  std::string name = "lookup";  // for log lines and error details
  size_t threads = 4;
  size_t max_in_flight = 256;
  std::chrono::milliseconds timeout{2000};
};

template <typename Result>
class BlockingPoolOf {
 public:
  using Options = BlockingPoolOptions;
  using Work = std::function<Result()>;
  using Done = std::function<void(Result)>;
  using ErrorMaker = std::function<Result(std::string why)>;

  BlockingPoolOf(Options options, ErrorMaker make_error)
      : options_(std::move(options)), make_error_(std::move(make_error)) {
    if (options_.threads == 0) options_.threads = 1;
    if (options_.max_in_flight == 0) options_.max_in_flight = 1;
    workers_.reserve(options_.threads);
    for (size_t i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { run_worker(); });
    watchdog_ = std::thread([this] { run_watchdog(); });
  }

  // Answers every queued job with an error, then joins the workers (a query
  // stuck in a driver delays this until it returns).
  ~BlockingPoolOf() {
    std::deque<JobPtr> abandoned;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      abandoned.swap(queue_);
    }
    work_ready_.notify_all();
    deadline_changed_.notify_all();
    for (const JobPtr& job : abandoned) answer(job, make_error_(options_.name + ": shutting down"));
    for (std::thread& worker : workers_) worker.join();
    watchdog_.join();
  }
  BlockingPoolOf(const BlockingPoolOf&) = delete;
  BlockingPoolOf& operator=(const BlockingPoolOf&) = delete;

  // Runs `work` on a worker and calls `done` exactly once: with its result,
  // or with an error when the pool is full, the timeout passed first, or the
  // pool is shutting down. `done` may run on a worker, on the watchdog
  // thread, or inline (when refused).
  void submit(Work work, Done done) {
    auto job = std::make_shared<Job>();
    job->work = std::move(work);
    job->done = std::move(done);
    {
      std::lock_guard lock(mutex_);
      if (!stopping_ && in_flight_ < options_.max_in_flight) {
        ++in_flight_;
        queue_.push_back(job);
        deadlines_.push({std::chrono::steady_clock::now() + options_.timeout, job});
        work_ready_.notify_one();
        deadline_changed_.notify_one();
        return;
      }
    }
    answer(job, make_error_(options_.name + ": too many requests in flight (" +
                            std::to_string(options_.max_in_flight) + ")"));
  }

  size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }
  const Options& options() const { return options_; }

 private:
  struct Job {
    Work work;
    Done done;
    std::atomic<bool> answered{false};
  };
  using JobPtr = std::shared_ptr<Job>;
  struct Deadline {
    std::chrono::steady_clock::time_point at;
    std::weak_ptr<Job> job;
    bool operator>(const Deadline& other) const { return at > other.at; }
  };

  static void answer(const JobPtr& job, Result result) {
    if (job->answered.exchange(true)) return;
    Done done = std::move(job->done);
    done(std::move(result));
  }

  void run_worker() {
    for (;;) {
      JobPtr job;
      {
        std::unique_lock lock(mutex_);
        work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      // A job already answered by the watchdog is not worth a query.
      std::optional<Result> result;
      if (!job->answered.load()) result.emplace(run_guarded(*job));
      // The slot is free before the answer goes out, so a caller that
      // submits again from (or right after) its callback is not refused.
      {
        std::lock_guard lock(mutex_);
        --in_flight_;
      }
      if (result) answer(job, std::move(*result));
    }
  }

  Result run_guarded(Job& job) {
    try {
      return job.work();
    } catch (const std::exception& e) {
      return make_error_(options_.name + ": " + e.what());
    } catch (...) {
      return make_error_(options_.name + ": unknown failure");
    }
  }

  void run_watchdog() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (deadlines_.empty()) {
        deadline_changed_.wait(lock);
        continue;
      }
      const Deadline next = deadlines_.top();
      if (std::chrono::steady_clock::now() < next.at) {
        deadline_changed_.wait_until(lock, next.at);
        continue;
      }
      deadlines_.pop();
      JobPtr job = next.job.lock();
      if (!job || job->answered.load()) continue;
      lock.unlock();
      answer(job, make_error_(options_.name + ": timed out after " +
                              std::to_string(options_.timeout.count()) + " ms"));
      lock.lock();
    }
  }

  Options options_;
  ErrorMaker make_error_;
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

}  // namespace cppbx
