// See memory_backend.hpp. Users are grouped by name so a lookup is one hash
// probe plus a scan of the (almost always single) users sharing that name.
#include "users/memory_backend.hpp"

#include <fmt/format.h>

#include "users/config_fields.hpp"

namespace cppbx::users {

MemoryBackend::MemoryBackend(std::vector<SipUser> users) : count_(users.size()) {
  for (SipUser& user : users) {
    std::string name = user.username;
    by_name_[std::move(name)].push_back(std::move(user));
  }
}

void MemoryBackend::lookup(const LookupRequest& request, LookupCallback done) {
  auto found = by_name_.find(request.username);
  if (found != by_name_.end()) {
    for (const SipUser& user : found->second) {
      if (realm_matches(user.realm, request.realm)) {
        done(LookupResult::found(user));
        return;
      }
    }
  }
  done(LookupResult::not_found());
}

namespace {

std::optional<SipUser> read_user(const toml::table& entry, const std::string& key_path,
                                 const config::UserBackendConfig& cfg,
                                 config::Diagnostics& diagnostics) {
  ConfigFields fields(entry, key_path, cfg.where, diagnostics);
  SipUser user;
  auto username = fields.string("username", true);
  auto password = fields.string("password", true);
  if (username && username->empty()) fields.error(fields.node("username"), "username", "must not be empty");
  user.realm = fields.string("realm", false).value_or("");
  user.display_name = fields.string("display_name", false).value_or("");
  user.enabled = fields.boolean("enabled").value_or(true);
  user.allow_guest_calls = fields.boolean("allow_guest_calls").value_or(false);
  fields.warn_unknown_keys();
  if (!username || username->empty() || !password) return std::nullopt;
  user.username = std::move(*username);
  user.password = std::move(*password);
  return user;
}

}  // namespace

std::shared_ptr<UserBackend> make_memory_backend(const config::UserBackendConfig& cfg,
                                                 config::Diagnostics& diagnostics) {
  ConfigFields fields(cfg.table, cfg.key_path, cfg.where, diagnostics);
  const toml::node* users_node = fields.node("users");
  fields.warn_unknown_keys();
  std::vector<SipUser> users;
  bool ok = true;
  if (users_node == nullptr) {
    diagnostics.warning(cfg.where, fields.key("users"), "memory backend has no users");
  } else if (const auto* list = users_node->as_array()) {
    for (size_t i = 0; i < list->size(); ++i) {
      std::string key = fmt::format("{}.users[{}]", cfg.key_path, i);
      const auto* entry = (*list)[i].as_table();
      if (entry == nullptr) {
        diagnostics.error(fields.where(&(*list)[i]), key, "must be a table of user fields");
        ok = false;
        continue;
      }
      auto user = read_user(*entry, key, cfg, diagnostics);
      if (user) users.push_back(std::move(*user));
      else ok = false;
    }
  } else {
    fields.error(users_node, "users", "must be an array of tables");
    ok = false;
  }
  if (!ok) return nullptr;
  return std::make_shared<MemoryBackend>(std::move(users));
}

}  // namespace cppbx::users
