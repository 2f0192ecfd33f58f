// The extensions' store, opened on first use and again after a failure.
//
// The extension backend may read its own database (its database_url), and
// that database may be down when cppbx starts. Opening it lazily, on a
// worker thread at the first extension route, keeps that outage to the
// extension routes (503 until it comes back) instead of the whole API. When
// the URL is the main database's, the already open main Database is used.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "storage/database.hpp"
#include "storage/extension_store.hpp"

namespace cppbx::http_api {

class LazyExtensionStore {
 public:
  // `main` (may be null) is used when `url` is `main_url`; it must outlive this.
  LazyExtensionStore(std::string url, std::string main_url, storage::Database* main);

  // The store, or nullptr with the reason in `error` (never the password).
  // Blocks while opening: call it on a worker thread.
  storage::ExtensionStore* get(std::string& error);

 private:
  std::mutex mutex_;
  std::string url_;
  storage::Database* database_ = nullptr;  // main, or own_
  std::unique_ptr<storage::Database> own_;
  std::unique_ptr<storage::ExtensionStore> store_;
};

}  // namespace cppbx::http_api
