// The chain walks its backends one callback at a time, so an asynchronous
// backend (database, http) never blocks the caller's thread: the next backend
// is asked from whichever thread delivered the previous answer.
#include "users/backend_chain.hpp"

#include <atomic>
#include <mutex>

namespace cppbx::users {

constexpr size_t kMaxErrorLength = 200;

struct Counters {
  std::atomic<uint64_t> lookups{0};
  std::atomic<uint64_t> errors{0};
  mutable std::mutex mutex;  // guards the last error
  std::optional<std::chrono::system_clock::time_point> last_error_at;
  std::string last_error;

  void record_error(const std::string& detail) {
    ++errors;
    std::lock_guard lock(mutex);
    last_error_at = std::chrono::system_clock::now();
    last_error = detail.size() > kMaxErrorLength ? detail.substr(0, kMaxErrorLength) + "..." : detail;
  }
};

struct BackendChain::Shared {
  std::vector<std::shared_ptr<UserBackend>> backends;
  std::vector<std::unique_ptr<Counters>> counters;  // one per backend, same order
};

namespace {

struct Walk : std::enable_shared_from_this<Walk> {
  std::shared_ptr<BackendChain::Shared> shared;
  LookupRequest request;
  LookupCallback done;
  size_t next = 0;
  bool saw_error = false;
  std::string error_detail;

  void step() {
    if (next == shared->backends.size()) {
      done(saw_error ? LookupResult::error(std::move(error_detail)) : LookupResult::not_found());
      return;
    }
    auto self = shared_from_this();
    const size_t index = next++;
    std::shared_ptr<UserBackend> backend = shared->backends[index];
    ++shared->counters[index]->lookups;
    backend->lookup(request, [self, backend, index](LookupResult result) {
      self->on_answer(*backend, index, std::move(result));
    });
  }

  void on_answer(const UserBackend& backend, size_t index, LookupResult result) {
    switch (result.outcome) {
      case LookupOutcome::Found:
      case LookupOutcome::Denied:
        done(std::move(result));
        return;
      case LookupOutcome::Error:
        shared->counters[index]->record_error(result.detail);
        if (!saw_error) {
          saw_error = true;
          error_detail = std::string(backend.type()) + ": " + result.detail;
        }
        break;
      case LookupOutcome::NotFound:
        break;
    }
    step();
  }
};

}  // namespace

BackendChain::BackendChain(std::vector<std::shared_ptr<UserBackend>> backends)
    : shared_(std::make_shared<Shared>()) {
  shared_->backends = std::move(backends);
  for (size_t i = 0; i < shared_->backends.size(); ++i) shared_->counters.push_back(std::make_unique<Counters>());
}

void BackendChain::lookup(const LookupRequest& request, LookupCallback done) {
  auto walk = std::make_shared<Walk>();
  walk->shared = shared_;
  walk->request = request;
  walk->done = std::move(done);
  walk->step();
}

size_t BackendChain::size() const { return shared_->backends.size(); }

void BackendChain::reload() {
  for (const auto& backend : shared_->backends) backend->reload();
}

std::vector<BackendHealth> BackendChain::health() const {
  std::vector<BackendHealth> out;
  for (size_t i = 0; i < shared_->backends.size(); ++i) {
    const Counters& counters = *shared_->counters[i];
    BackendHealth health;
    health.type = std::string(shared_->backends[i]->type());
    health.lookups = counters.lookups.load();
    health.errors = counters.errors.load();
    {
      std::lock_guard lock(counters.mutex);
      health.last_error_at = counters.last_error_at;
      health.last_error = counters.last_error;
    }
    out.push_back(std::move(health));
  }
  return out;
}

}  // namespace cppbx::users
