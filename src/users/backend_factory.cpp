// See backend_factory.hpp for why the built-in types are listed here rather
// than registering themselves. The registry is guarded by a mutex; it is only
// touched at start-up and on configuration reload, never per request.
#include "users/backend_factory.hpp"

#include <map>
#include <mutex>

#include "users/database_backend.hpp"
#include "users/extension_backend.hpp"
#include "users/http_backend.hpp"
#include "users/memory_backend.hpp"
#include "users/plain_backend.hpp"

namespace cppbx::users {
namespace {

size_t error_count(const config::Diagnostics& diagnostics) {
  size_t errors = 0;
  for (const auto& item : diagnostics.all()) {
    if (item.severity == config::Diagnostic::Severity::Error) ++errors;
  }
  return errors;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, BackendMaker, std::less<>> makers;

  Registry() {
    makers["memory"] = make_memory_backend;
    makers["plain"] = make_plain_backend;
    makers["extension"] = make_extension_backend;
    makers["http"] = make_http_backend;
    makers["database"] = make_database_backend;
  }
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

bool register_backend_type(std::string type, BackendMaker maker) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.makers[std::move(type)] = std::move(maker);
  return true;
}

std::vector<std::string> registered_backend_types() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> types;
  for (const auto& entry : r.makers) types.push_back(entry.first);
  return types;
}

std::shared_ptr<UserBackend> make_backend(const config::UserBackendConfig& cfg,
                                          config::Diagnostics& diagnostics) {
  BackendMaker maker;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    auto found = r.makers.find(cfg.type);
    if (found != r.makers.end()) maker = found->second;
  }
  if (!maker) {
    std::string known;
    for (const std::string& type : registered_backend_types()) {
      known += known.empty() ? type : ", " + type;
    }
    diagnostics.error(cfg.where, cfg.key_path + ".type",
                      "unknown backend type '" + cfg.type + "' (known: " + known + ")");
    return nullptr;
  }
  return maker(cfg, diagnostics);
}

std::shared_ptr<BackendChain> make_backend_chain(
    const std::vector<config::UserBackendConfig>& configs, config::Diagnostics& diagnostics) {
  std::vector<std::shared_ptr<UserBackend>> backends;
  const size_t errors_before = error_count(diagnostics);
  for (const auto& cfg : configs) {
    if (auto backend = make_backend(cfg, diagnostics)) backends.push_back(std::move(backend));
  }
  if (error_count(diagnostics) != errors_before) return nullptr;
  return std::make_shared<BackendChain>(std::move(backends));
}

}  // namespace cppbx::users
