// Console sessions: who is logged in, held in memory only.
//
// Design decisions:
// - A session id is 256 random bits from the kernel CSPRNG (hex), sent as
//   the cookie `cppbx_session` (HttpOnly, SameSite=Strict, Path=/, Secure
//   when [console] secure_cookie). Nothing is signed: the id is an
//   unguessable key into this table, so there is no secret to configure and
//   a restart logs everyone out (acceptable for an admin console).
// - Each session has its own CSRF token (another 256 random bits) that the
//   client reads from the login answer or GET /api/session and sends back
//   in X-CSRF-Token on every state-changing request: a page on another site
//   cannot read it. Tokens are compared in constant time.
// - Idle expiry (8 h by default): each use moves the deadline. The table is
//   bounded (max_sessions); beyond it the least recently used session goes.
// - Thread-safe (one mutex): touched from the HTTP thread only today, but
//   cheap to keep safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http_api/api_message.hpp"

namespace cppbx::http_api {

inline constexpr std::string_view kSessionCookie = "cppbx_session";
inline constexpr std::string_view kCsrfHeader = "x-csrf-token";

struct SessionOptions {
  std::chrono::seconds idle_timeout{8 * 3600};
  size_t max_sessions = 10000;
  // The clock; tests move it by hand.
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
};

class SessionStore {
 public:
  explicit SessionStore(SessionOptions options = {});

  SessionView create(const std::string& username);
  // The session and a fresh idle deadline; nullopt when unknown or expired
  // (an expired one is removed).
  std::optional<SessionView> touch(const std::string& id);
  void remove(const std::string& id);
  size_t size() const;
  const SessionOptions& options() const { return options_; }

 private:
  struct Entry {
    SessionView view;
    std::chrono::steady_clock::time_point last_used;
  };
  void evict_if_full();

  SessionOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> sessions_;
};

// Equal strings, compared in time independent of where they differ.
bool same_token(std::string_view a, std::string_view b);

// Set-Cookie values: the session, and one that makes the browser forget it.
std::string session_cookie(std::string_view id, bool secure, std::chrono::seconds max_age);
std::string expired_session_cookie(bool secure);
// The value of cookie `name` in a Cookie header ("a=1; b=2"), if present.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

// True for POST, PUT, PATCH and DELETE: these need the CSRF token.
bool is_state_changing(std::string_view method);

}  // namespace cppbx::http_api
