// The chain walks its backends one callback at a time, so an asynchronous
// backend (database, http) never blocks the caller's thread: the next backend
// is asked from whichever thread delivered the previous answer.
#include "users/backend_chain.hpp"

namespace cppbx::users {
namespace {

struct Walk : std::enable_shared_from_this<Walk> {
  std::shared_ptr<const std::vector<std::shared_ptr<UserBackend>>> backends;
  LookupRequest request;
  LookupCallback done;
  size_t next = 0;
  bool saw_error = false;
  std::string error_detail;

  void step() {
    if (next == backends->size()) {
      done(saw_error ? LookupResult::error(std::move(error_detail)) : LookupResult::not_found());
      return;
    }
    auto self = shared_from_this();
    std::shared_ptr<UserBackend> backend = (*backends)[next++];
    backend->lookup(request, [self, backend](LookupResult result) {
      self->on_answer(*backend, std::move(result));
    });
  }

  void on_answer(const UserBackend& backend, LookupResult result) {
    switch (result.outcome) {
      case LookupOutcome::Found:
      case LookupOutcome::Denied:
        done(std::move(result));
        return;
      case LookupOutcome::Error:
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
    : backends_(std::make_shared<const std::vector<std::shared_ptr<UserBackend>>>(
          std::move(backends))) {}

void BackendChain::lookup(const LookupRequest& request, LookupCallback done) {
  auto walk = std::make_shared<Walk>();
  walk->backends = backends_;
  walk->request = request;
  walk->done = std::move(done);
  walk->step();
}

void BackendChain::reload() {
  for (const auto& backend : *backends_) backend->reload();
}

}  // namespace cppbx::users
