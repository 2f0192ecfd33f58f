// The user backend chain seen by the auth module, behind one indirection so
// that a reload (SIGHUP, the console's Apply) swaps in a new chain
// without stopping anything: lookups already running finish on the chain they
// started on, because each holds its own shared_ptr to it.
#pragma once

#include <atomic>
#include <memory>

#include "users/user_backend.hpp"

namespace cppbx::app {

class SwappableBackend final : public users::UserBackend {
 public:
  explicit SwappableBackend(std::shared_ptr<users::UserBackend> initial)
      : current_(std::move(initial)) {}
  std::string_view type() const override { return "swappable"; }
  void lookup(const users::LookupRequest& request, users::LookupCallback done) override {
    auto backend = current_.load();
    backend->lookup(request, std::move(done));
  }
  void reload() override { current_.load()->reload(); }
  void replace(std::shared_ptr<users::UserBackend> next) { current_.store(std::move(next)); }
  std::shared_ptr<users::UserBackend> current() const { return current_.load(); }

 private:
  std::atomic<std::shared_ptr<users::UserBackend>> current_;
};

}  // namespace cppbx::app
