// See admin_store.hpp. Existence is checked with a SELECT before UPDATE (as in
// extension_store.cpp: MySQL reports changed rather than matched rows), and
// hashing happens before a session is leased, so a slow hash never holds a
// pooled connection.
#include "storage/admin_store.hpp"

#include <argon2.h>

#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "common/random.hpp"

namespace cppbx::storage {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

bool is_username_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '@';
}

// The stored hash of `username`, or empty when there is none.
std::string stored_hash(soci::session& sql, const std::string& username) {
  std::string hash;
  soci::indicator indicator = soci::i_null;
  sql << "SELECT password_hash FROM admins WHERE username = :username", soci::into(hash, indicator),
      soci::use(username);
  return sql.got_data() && indicator == soci::i_ok ? hash : std::string();
}

}  // namespace

std::string admin_username_problem(std::string_view username) {
  if (username.empty()) return "the administrator name is empty";
  if (username.size() > kMaxAdminUsernameLength) {
    return fmt::format("the administrator name is longer than {} characters", kMaxAdminUsernameLength);
  }
  for (char c : username) {
    if (!is_username_character(c)) return "the administrator name may only hold A-Z a-z 0-9 . _ @ -";
  }
  return {};
}

std::string admin_password_problem(std::string_view password) {
  if (password.size() < kMinAdminPasswordLength) {
    return fmt::format("the administrator password needs at least {} characters", kMinAdminPasswordLength);
  }
  if (password.size() > kMaxAdminPasswordLength) {
    return fmt::format("the administrator password is longer than {} characters", kMaxAdminPasswordLength);
  }
  return {};
}

std::string hash_admin_password(std::string_view password, const AdminHashCost& cost) {
  std::vector<uint8_t> salt = random::secure_bytes(kSaltBytes);
  std::string encoded(argon2_encodedlen(cost.time_cost, cost.memory_kib, cost.lanes, kSaltBytes, kHashBytes,
                                        Argon2_id),
                      '\0');
  int result = argon2id_hash_encoded(cost.time_cost, cost.memory_kib, cost.lanes, password.data(), password.size(),
                                     salt.data(), salt.size(), kHashBytes, encoded.data(), encoded.size());
  if (result != ARGON2_OK) return {};
  encoded.resize(encoded.find('\0') == std::string::npos ? encoded.size() : encoded.find('\0'));
  return encoded;
}

bool admin_password_matches(const std::string& encoded, std::string_view password) {
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

AdminStore::AdminStore(Database& database, AdminHashCost cost) : database_(database), cost_(cost) {}

const std::string& AdminStore::dummy_hash() {
  std::call_once(dummy_once_, [this] { dummy_hash_ = hash_admin_password(random::hex(16), cost_); });
  return dummy_hash_;
}

StoreStatus AdminStore::set_password(std::string_view username, std::string_view password, bool& created) {
  if (auto problem = admin_username_problem(username); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  if (auto problem = admin_password_problem(password); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  const std::string hash = hash_admin_password(password, cost_);
  if (hash.empty()) return StoreStatus::fail(StoreStatus::Kind::DatabaseError, "argon2id hashing failed");
  const std::string name(username);
  try {
    return database_.with_session([&](soci::session& sql) {
      soci::transaction transaction(sql);
      const std::string now = utc_now_iso8601();
      created = stored_hash(sql, name).empty();
      if (created) {
        sql << "INSERT INTO admins (username, password_hash, created_at, updated_at) "
               "VALUES (:username, :hash, :created_at, :updated_at)",
            soci::use(name), soci::use(hash), soci::use(now), soci::use(now);
      } else {
        sql << "UPDATE admins SET password_hash = :hash, updated_at = :updated_at WHERE username = :username",
            soci::use(hash), soci::use(now), soci::use(name);
      }
      transaction.commit();
      return StoreStatus::success();
    });
  } catch (const std::exception& e) {
    // SOCI messages quote the statement, never bound values.
    return StoreStatus::fail(StoreStatus::Kind::DatabaseError,
                             fmt::format("database error while saving an administrator: {}", e.what()));
  }
}

AdminVerdict AdminStore::verify(std::string_view username, std::string_view password, std::string& detail) {
  std::string hash;
  if (admin_username_problem(username).empty() && password.size() <= kMaxAdminPasswordLength) {
    const std::string name(username);
    try {
      hash = database_.with_session_retried([&](soci::session& sql) { return stored_hash(sql, name); });
    } catch (const std::exception& e) {
      detail = fmt::format("database error while reading an administrator: {}", e.what());
      return AdminVerdict::DatabaseError;
    }
  }
  if (hash.empty()) {
    // Same work as a real check, so timing does not reveal unknown names.
    admin_password_matches(dummy_hash(), password.substr(0, kMaxAdminPasswordLength));
    return AdminVerdict::Refused;
  }
  return admin_password_matches(hash, password) ? AdminVerdict::Accepted : AdminVerdict::Refused;
}

int64_t AdminStore::count() {
  try {
    return database_.with_session_retried([](soci::session& sql) {
      long long total = 0;
      sql << "SELECT COUNT(*) FROM admins", soci::into(total);
      return static_cast<int64_t>(total);
    });
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace cppbx::storage
