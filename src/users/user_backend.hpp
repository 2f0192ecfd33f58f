// Where users live. A UserBackend answers "who is <username> in <realm>?"
// asynchronously: the answer may come inline (memory, plain) or later from a
// worker thread (database, http), but always exactly once. The digest
// mechanics live in auth/; this layer knows nothing about SIP.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cppbx::users {

struct SipUser {
  std::string username;
  std::string password;            // may be empty when ha1_md5 is set
  std::optional<std::string> ha1_md5;  // MD5(username:realm:password), hex
  std::string realm;               // empty: matches any realm
  std::string display_name;
  bool enabled = true;
  bool allow_guest_calls = false;
};

enum class LookupOutcome {
  Found,
  NotFound,  // the chain moves on to the next backend
  Denied,    // the backend refuses this user outright (sip_code: 402/403)
  Error,     // the backend could not answer (down, timeout, bad answer)
};

struct LookupResult {
  LookupOutcome outcome = LookupOutcome::NotFound;
  SipUser user;         // for Found
  int sip_code = 0;     // for Denied
  std::string detail;   // for logs; never contains a password

  static LookupResult found(SipUser u) { return {LookupOutcome::Found, std::move(u), 0, {}}; }
  static LookupResult not_found() { return {}; }
  static LookupResult denied(int code, std::string why) { return {LookupOutcome::Denied, {}, code, std::move(why)}; }
  static LookupResult error(std::string why) { return {LookupOutcome::Error, {}, 0, std::move(why)}; }
};

struct LookupRequest {
  std::string username;
  std::string realm;
};

using LookupCallback = std::function<void(LookupResult)>;

class UserBackend {
 public:
  virtual ~UserBackend() = default;
  virtual std::string_view type() const = 0;
  // Calls `done` exactly once, inline or from another thread.
  virtual void lookup(const LookupRequest& request, LookupCallback done) = 0;
  // Re-reads the backend's source (SIGHUP). Errors are logged, the previous
  // data stays in use.
  virtual void reload() {}
};

// True when a user with realm `user_realm` may authenticate in `realm`: an
// empty user realm matches any realm; otherwise case-insensitive, port ignored.
bool realm_matches(std::string_view user_realm, std::string_view realm);

}  // namespace cppbx::users
