// See extension_store.hpp. Reads use typed into() variables rather than
// soci::row, because each backend reports column types differently (SQLite by
// declared name, PostgreSQL int2/int8, MySQL text protocol) while typed reads
// convert the same way everywhere. Existence is checked with a SELECT before
// UPDATE/DELETE instead of relying on affected-row counts, which MySQL
// reports as "changed" rather than "matched" rows.
#include "storage/extension_store.hpp"

#include <array>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace cppbx::storage {
namespace {

constexpr std::array<std::string_view, 4> kForwardingModes = {"none", "always", "busy",
                                                             "no_answer"};
constexpr int kMaxForwardingTimeout = 600;

constexpr const char* kSelectColumns =
    "SELECT id, extension, sip_password, display_name, email, login_disabled, "
    "allow_guest_calls, call_forwarding_mode, call_forwarding_destination, "
    "call_forwarding_timeout, created_at, updated_at FROM extensions";

bool has_control_character(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool is_extension_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string text_problem(std::string_view field, std::string_view value, size_t max_length) {
  if (value.size() > max_length) return fmt::format("{} is longer than {} characters", field, max_length);
  if (has_control_character(value)) return fmt::format("{} contains control characters", field);
  return {};
}

std::string email_problem(std::string_view email) {
  if (email.empty()) return {};
  if (auto problem = text_problem("email", email, kMaxTextFieldLength); !problem.empty()) return problem;
  size_t at = email.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string_view::npos || email.find(' ') != std::string_view::npos) {
    return "email is not an address of the form name@domain";
  }
  return {};
}

std::string forwarding_problem(const Extension& extension) {
  bool known = false;
  for (std::string_view mode : kForwardingModes) known = known || mode == extension.call_forwarding_mode;
  if (!known) return "call_forwarding_mode must be one of none, always, busy, no_answer";
  if (auto problem = text_problem("call_forwarding_destination",
                                  extension.call_forwarding_destination, kMaxTextFieldLength);
      !problem.empty()) {
    return problem;
  }
  if (extension.call_forwarding_mode != "none" && extension.call_forwarding_destination.empty()) {
    return "call_forwarding_destination is required when forwarding is on";
  }
  if (extension.call_forwarding_timeout < 1 || extension.call_forwarding_timeout > kMaxForwardingTimeout) {
    return fmt::format("call_forwarding_timeout must be 1..{} seconds", kMaxForwardingTimeout);
  }
  return {};
}

// One row as typed variables; SQL booleans are SMALLINT 0/1.
struct RowBuffer {
  long long id = 0;
  int login_disabled = 0;
  int allow_guest_calls = 0;
  Extension fields;

  template <typename Statement>
  void bind(Statement& statement) {
    statement.exchange(soci::into(id));
    statement.exchange(soci::into(fields.extension));
    statement.exchange(soci::into(fields.sip_password));
    statement.exchange(soci::into(fields.display_name));
    statement.exchange(soci::into(fields.email));
    statement.exchange(soci::into(login_disabled));
    statement.exchange(soci::into(allow_guest_calls));
    statement.exchange(soci::into(fields.call_forwarding_mode));
    statement.exchange(soci::into(fields.call_forwarding_destination));
    statement.exchange(soci::into(fields.call_forwarding_timeout));
    statement.exchange(soci::into(fields.created_at));
    statement.exchange(soci::into(fields.updated_at));
  }

  Extension take() const {
    Extension out = fields;
    out.id = id;
    out.login_disabled = login_disabled != 0;
    out.allow_guest_calls = allow_guest_calls != 0;
    return out;
  }
};

bool exists(soci::session& sql, const std::string& extension) {
  int count = 0;
  sql << "SELECT count(*) FROM extensions WHERE extension = :extension", soci::use(extension),
      soci::into(count);
  return count > 0;
}

StoreStatus not_found(std::string_view extension) {
  return StoreStatus::fail(StoreStatus::Kind::NotFound, fmt::format("unknown extension {}", extension));
}

}  // namespace

std::string extension_name_problem(std::string_view name) {
  if (name.empty()) return "extension must not be empty";
  if (name.size() > kMaxExtensionLength) {
    return fmt::format("extension is longer than {} characters", kMaxExtensionLength);
  }
  for (char c : name) {
    if (!is_extension_character(c)) return "extension may only hold letters, digits, '.', '_' and '-'";
  }
  return {};
}

std::string extension_problem(const Extension& extension) {
  if (auto problem = extension_name_problem(extension.extension); !problem.empty()) return problem;
  if (extension.sip_password.empty()) return "sip_password must not be empty";
  if (auto problem = text_problem("sip_password", extension.sip_password, kMaxSipPasswordLength);
      !problem.empty()) {
    return problem;
  }
  if (auto problem = text_problem("display_name", extension.display_name, kMaxTextFieldLength);
      !problem.empty()) {
    return problem;
  }
  if (auto problem = email_problem(extension.email); !problem.empty()) return problem;
  return forwarding_problem(extension);
}

// ---------------------------------------------------------------------------
// ExtensionChanges

ExtensionChanges::Subscription::~Subscription() { hub_->unsubscribe(id_); }

ExtensionChanges& ExtensionChanges::process_wide() {
  static ExtensionChanges hub;
  return hub;
}

std::unique_ptr<ExtensionChanges::Subscription> ExtensionChanges::subscribe(Observer observer) {
  std::lock_guard lock(mutex_);
  uint64_t id = next_id_++;
  observers_.emplace(id, std::move(observer));
  return std::make_unique<Subscription>(this, id);
}

void ExtensionChanges::publish(const std::string& extension) {
  std::lock_guard lock(mutex_);
  for (auto& [id, observer] : observers_) observer(extension);
}

void ExtensionChanges::unsubscribe(uint64_t id) {
  std::lock_guard lock(mutex_);
  observers_.erase(id);
}

// ---------------------------------------------------------------------------
// ExtensionStore

ExtensionStore::ExtensionStore(Database& database, ExtensionChanges* changes)
    : database_(database), changes_(changes ? *changes : ExtensionChanges::process_wide()) {}

template <typename Work>
StoreStatus ExtensionStore::guarded(std::string_view what, bool retry, Work&& work) {
  try {
    if (retry) return database_.with_session_retried(std::forward<Work>(work));
    return database_.with_session(std::forward<Work>(work));
  } catch (const std::exception& e) {
    // SOCI messages quote the statement, never bound values, so no password.
    return StoreStatus::fail(StoreStatus::Kind::DatabaseError,
                             fmt::format("database error while {}: {}", what, e.what()));
  }
}

void ExtensionStore::announce(std::string_view extension) {
  changes_.publish(std::string(extension));
}

StoreStatus ExtensionStore::add(const Extension& extension) {
  if (auto problem = extension_problem(extension); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  StoreStatus status = guarded("adding an extension", false, [&](soci::session& sql) {
    if (exists(sql, extension.extension)) {
      return StoreStatus::fail(StoreStatus::Kind::Duplicate,
                               fmt::format("extension {} already exists", extension.extension));
    }
    const std::string now = utc_now_iso8601();
    const int disabled = extension.login_disabled ? 1 : 0;
    const int guest = extension.allow_guest_calls ? 1 : 0;
    sql << "INSERT INTO extensions (extension, sip_password, display_name, email, "
           "login_disabled, allow_guest_calls, call_forwarding_mode, "
           "call_forwarding_destination, call_forwarding_timeout, created_at, updated_at) "
           "VALUES (:extension, :password, :display_name, :email, :disabled, :guest, :mode, "
           ":destination, :timeout, :created_at, :updated_at)",
        soci::use(extension.extension), soci::use(extension.sip_password),
        soci::use(extension.display_name), soci::use(extension.email), soci::use(disabled),
        soci::use(guest), soci::use(extension.call_forwarding_mode),
        soci::use(extension.call_forwarding_destination),
        soci::use(extension.call_forwarding_timeout), soci::use(now), soci::use(now);
    return StoreStatus::success();
  });
  // Another process may have inserted it between our check and insert.
  if (status.kind == StoreStatus::Kind::DatabaseError) {
    Extension existing;
    if (find(extension.extension, existing).ok()) {
      return StoreStatus::fail(StoreStatus::Kind::Duplicate,
                               fmt::format("extension {} already exists", extension.extension));
    }
  }
  if (status.ok()) announce(extension.extension);
  return status;
}

StoreStatus ExtensionStore::find(std::string_view extension, Extension& out) {
  if (auto problem = extension_name_problem(extension); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  const std::string name(extension);
  return guarded("reading an extension", true, [&](soci::session& sql) {
    RowBuffer row;
    soci::statement statement(sql);
    row.bind(statement);
    statement.exchange(soci::use(name));
    statement.alloc();
    statement.prepare(std::string(kSelectColumns) + " WHERE extension = :extension",
                      soci::details::st_one_time_query);  // one round trip, not three
    statement.define_and_bind();
    if (!statement.execute(true)) return not_found(extension);
    out = row.take();
    return StoreStatus::success();
  });
}

StoreStatus ExtensionStore::list(std::vector<Extension>& out) {
  return guarded("listing extensions", true, [&](soci::session& sql) {
    out.clear();
    RowBuffer row;
    soci::statement statement(sql);
    row.bind(statement);
    statement.alloc();
    statement.prepare(std::string(kSelectColumns) + " ORDER BY extension");
    statement.define_and_bind();
    if (statement.execute(true)) {
      do {
        out.push_back(row.take());
      } while (statement.fetch());
    }
    return StoreStatus::success();
  });
}

StoreStatus ExtensionStore::remove(std::string_view extension) {
  if (auto problem = extension_name_problem(extension); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  const std::string name(extension);
  StoreStatus status = guarded("removing an extension", false, [&](soci::session& sql) {
    if (!exists(sql, name)) return not_found(extension);
    sql << "DELETE FROM extensions WHERE extension = :extension", soci::use(name);
    return StoreStatus::success();
  });
  if (status.ok()) announce(extension);
  return status;
}

StoreStatus ExtensionStore::set_password(std::string_view extension, const std::string& sip_password) {
  if (auto problem = extension_name_problem(extension); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  if (sip_password.empty()) return StoreStatus::fail(StoreStatus::Kind::Invalid, "sip_password must not be empty");
  if (auto problem = text_problem("sip_password", sip_password, kMaxSipPasswordLength); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  const std::string name(extension);
  StoreStatus status = guarded("changing a password", false, [&](soci::session& sql) {
    if (!exists(sql, name)) return not_found(extension);
    const std::string now = utc_now_iso8601();
    sql << "UPDATE extensions SET sip_password = :password, updated_at = :now "
           "WHERE extension = :extension",
        soci::use(sip_password), soci::use(now), soci::use(name);
    return StoreStatus::success();
  });
  if (status.ok()) announce(extension);
  return status;
}

StoreStatus ExtensionStore::set_enabled(std::string_view extension, bool enabled) {
  if (auto problem = extension_name_problem(extension); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  const std::string name(extension);
  StoreStatus status = guarded("enabling or disabling an extension", false, [&](soci::session& sql) {
    if (!exists(sql, name)) return not_found(extension);
    const std::string now = utc_now_iso8601();
    const int disabled = enabled ? 0 : 1;
    sql << "UPDATE extensions SET login_disabled = :disabled, updated_at = :now "
           "WHERE extension = :extension",
        soci::use(disabled), soci::use(now), soci::use(name);
    return StoreStatus::success();
  });
  if (status.ok()) announce(extension);
  return status;
}

StoreStatus ExtensionStore::update(const Extension& extension) {
  if (auto problem = extension_problem(extension); !problem.empty()) {
    return StoreStatus::fail(StoreStatus::Kind::Invalid, problem);
  }
  StoreStatus status = guarded("updating an extension", false, [&](soci::session& sql) {
    if (!exists(sql, extension.extension)) return not_found(extension.extension);
    const std::string now = utc_now_iso8601();
    const int disabled = extension.login_disabled ? 1 : 0;
    const int guest = extension.allow_guest_calls ? 1 : 0;
    sql << "UPDATE extensions SET sip_password = :password, display_name = :display_name, "
           "email = :email, login_disabled = :disabled, allow_guest_calls = :guest, "
           "call_forwarding_mode = :mode, call_forwarding_destination = :destination, "
           "call_forwarding_timeout = :timeout, updated_at = :now WHERE extension = :extension",
        soci::use(extension.sip_password), soci::use(extension.display_name),
        soci::use(extension.email), soci::use(disabled), soci::use(guest),
        soci::use(extension.call_forwarding_mode),
        soci::use(extension.call_forwarding_destination),
        soci::use(extension.call_forwarding_timeout), soci::use(now),
        soci::use(extension.extension);
    return StoreStatus::success();
  });
  if (status.ok()) announce(extension.extension);
  return status;
}

}  // namespace cppbx::storage
