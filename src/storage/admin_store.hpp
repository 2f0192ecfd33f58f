// Console administrators (the `admins` table of the main database, migration
// 5): who may log in to the HTTP API and the web console.
//
// Passwords are stored only as argon2id hashes in the PHC encoded form
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), so the cost parameters
// travel with each hash and can be raised later without breaking old ones.
// Verification is libargon2's, which compares in constant time. A login for
// an unknown name verifies against a dummy hash of the same cost, so the
// answer time does not tell which names exist.
//
// Hashing costs tens of milliseconds and 64 MiB by design: callers run these
// methods on worker threads (BlockingPoolOf), never on an I/O thread. Every
// SQL value is bound as a parameter; messages never contain a password.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <mutex>

#include "storage/database.hpp"
#include "storage/extension_store.hpp"  // StoreStatus

namespace cppbx::storage {

// argon2id cost. The defaults follow RFC 9106's second recommended option
// for memory-constrained hosts (t=3, 64 MiB, one lane): about a tenth of a
// second per guess on one core, which makes offline guessing of a stolen
// table expensive while a login stays quick. One lane because logins are
// rare and the PBX's cores belong to SIP. Tests pass a smaller cost.
struct AdminHashCost {
  uint32_t time_cost = 3;
  uint32_t memory_kib = 64 * 1024;
  uint32_t lanes = 1;
};

inline constexpr size_t kMaxAdminUsernameLength = 64;
inline constexpr size_t kMinAdminPasswordLength = 8;
inline constexpr size_t kMaxAdminPasswordLength = 1024;

// Empty when acceptable: 1..64 characters from [A-Za-z0-9._@-].
std::string admin_username_problem(std::string_view username);
// Empty when acceptable: 8..1024 bytes. Never repeats the password.
std::string admin_password_problem(std::string_view password);

// The PHC-encoded argon2id hash of `password` with a fresh 16-byte salt;
// empty when libargon2 fails (out of memory).
std::string hash_admin_password(std::string_view password, const AdminHashCost& cost = {});
// True when `password` matches `encoded` (constant-time comparison inside
// libargon2); false for a mismatch or a malformed hash.
bool admin_password_matches(const std::string& encoded, std::string_view password);

enum class AdminVerdict { Accepted, Refused, DatabaseError };

class AdminStore {
 public:
  // `database` must outlive the store.
  explicit AdminStore(Database& database, AdminHashCost cost = {});

  // Creates the administrator or resets its password; `created` tells which.
  StoreStatus set_password(std::string_view username, std::string_view password, bool& created);
  // Accepted only for an existing name with its password. Refused for an
  // unknown name too (after the same amount of work). `detail` is filled on
  // DatabaseError and never holds the password.
  AdminVerdict verify(std::string_view username, std::string_view password, std::string& detail);
  // Number of administrators; -1 on a database error.
  int64_t count();

 private:
  const std::string& dummy_hash();

  Database& database_;
  AdminHashCost cost_;
  std::string dummy_hash_;
  std::once_flag dummy_once_;
};

}  // namespace cppbx::storage
