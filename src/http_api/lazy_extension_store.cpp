// See lazy_extension_store.hpp.
#include "http_api/lazy_extension_store.hpp"

namespace cppbx::http_api {

LazyExtensionStore::LazyExtensionStore(std::string url, std::string main_url, storage::Database* main)
    : url_(std::move(url)), database_(url_ == main_url ? main : nullptr) {}

storage::ExtensionStore* LazyExtensionStore::get(std::string& error) {
  std::lock_guard lock(mutex_);
  if (store_) return store_.get();
  if (!database_) {
    storage::Database::Options options;
    options.pool_size = 2;
    own_ = storage::Database::open(url_, options, error);
    if (!own_) {
      error = "the extensions' database is unavailable: " + error;
      return nullptr;
    }
    database_ = own_.get();
  }
  store_ = std::make_unique<storage::ExtensionStore>(*database_);
  return store_.get();
}

}  // namespace cppbx::http_api
