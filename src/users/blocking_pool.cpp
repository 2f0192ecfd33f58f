// See blocking_pool.hpp. A job is answered by whoever gets there first, the
// worker with the result or the watchdog with a timeout; the `answered` flag
// makes that race harmless. Deadlines hold weak pointers so a job finished
// early does not linger until its deadline comes up.
#include "users/blocking_pool.hpp"

#include <atomic>

namespace cppbx::users {

struct BlockingPool::Job {
  Work work;
  LookupCallback done;
  std::atomic<bool> answered{false};
};

BlockingPool::BlockingPool(Options options) : options_(std::move(options)) {
  if (options_.threads == 0) options_.threads = 1;
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
  workers_.reserve(options_.threads);
  for (size_t i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { run_worker(); });
  watchdog_ = std::thread([this] { run_watchdog(); });
}

BlockingPool::~BlockingPool() {
  std::deque<JobPtr> abandoned;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    abandoned.swap(queue_);
  }
  work_ready_.notify_all();
  deadline_changed_.notify_all();
  for (const JobPtr& job : abandoned) answer(job, LookupResult::error(options_.name + ": shutting down"));
  for (std::thread& worker : workers_) worker.join();
  watchdog_.join();
}

void BlockingPool::answer(const JobPtr& job, LookupResult result) {
  if (job->answered.exchange(true)) return;
  LookupCallback done = std::move(job->done);
  done(std::move(result));
}

void BlockingPool::submit(Work work, LookupCallback done) {
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
  answer(job, LookupResult::error(options_.name + ": too many lookups in flight (" +
                                  std::to_string(options_.max_in_flight) + ")"));
}

size_t BlockingPool::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void BlockingPool::run_worker() {
  for (;;) {
    JobPtr job;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    // A lookup already answered by the watchdog is not worth a query.
    if (!job->answered.load()) {
      LookupResult result;
      try {
        result = job->work();
      } catch (const std::exception& e) {
        result = LookupResult::error(options_.name + ": " + e.what());
      } catch (...) {
        result = LookupResult::error(options_.name + ": unknown failure");
      }
      answer(job, std::move(result));
    }
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
}

void BlockingPool::run_watchdog() {
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
    answer(job, LookupResult::error(options_.name + ": timed out after " +
                                    std::to_string(options_.timeout.count()) + " ms"));
    lock.lock();
  }
}

}  // namespace cppbx::users
