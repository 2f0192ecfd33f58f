// See sessions.hpp.
#include "http_api/sessions.hpp"

#include <openssl/crypto.h>

#include <fmt/format.h>

#include "common/random.hpp"
#include "common/strings.hpp"

namespace cppbx::http_api {
namespace {

constexpr size_t kIdBytes = 32;  // 256 bits

}  // namespace

SessionStore::SessionStore(SessionOptions options) : options_(std::move(options)) {}

SessionView SessionStore::create(const std::string& username) {
  SessionView view{random::hex(kIdBytes), username, random::hex(kIdBytes)};
  std::lock_guard lock(mutex_);
  evict_if_full();
  sessions_[view.id] = Entry{view, options_.now()};
  return view;
}

std::optional<SessionView> SessionStore::touch(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = sessions_.find(id);
  if (found == sessions_.end()) return std::nullopt;
  const auto now = options_.now();
  if (now - found->second.last_used >= options_.idle_timeout) {
    sessions_.erase(found);
    return std::nullopt;
  }
  found->second.last_used = now;
  return found->second.view;
}

void SessionStore::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

size_t SessionStore::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

// Expired sessions go first; if none, the least recently used one.
void SessionStore::evict_if_full() {
  if (sessions_.size() < options_.max_sessions) return;
  const auto now = options_.now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = now - it->second.last_used >= options_.idle_timeout ? sessions_.erase(it) : std::next(it);
  }
  while (sessions_.size() >= options_.max_sessions && !sessions_.empty()) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    sessions_.erase(oldest);
  }
}

bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string session_cookie(std::string_view id, bool secure, std::chrono::seconds max_age) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kSessionCookie, id,
                     max_age.count(), secure ? "; Secure" : "");
}

std::string expired_session_cookie(bool secure) {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}", kSessionCookie,
                     secure ? "; Secure" : "");
}

std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name) {
  size_t start = 0;
  while (start < cookie_header.size()) {
    size_t end = cookie_header.find(';', start);
    std::string_view pair = trim(cookie_header.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos && trim(pair.substr(0, equals)) == name) {
      return std::string(trim(pair.substr(equals + 1)));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

bool is_state_changing(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace cppbx::http_api
