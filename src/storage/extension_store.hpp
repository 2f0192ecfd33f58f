// The PBX's own extensions (the `extensions` table of the main database):
// what the `extension` user backend reads and the `cppbx extension` command
// line manages.
//
// Every method validates its input before touching SQL, binds every value as
// a parameter, and reports failures as a StoreStatus rather than throwing, so
// callers (a lookup worker, the CLI) can map them to 503 or an exit code.
// Messages never contain a password.
//
// Change notifications: a store announces every successful change through an
// ExtensionChanges hub (the process-wide one unless told otherwise), so a
// cache of extensions kept elsewhere in the same process (the user backend
// opens its own store) drops the changed entry at once. Another process
// changing the same database (the CLI while the server runs) is not seen
// this way; caches bound that staleness with their TTL.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/database.hpp"

namespace cppbx::storage {

struct Extension {
  int64_t id = 0;  // assigned by the database
  std::string extension;
  std::string sip_password;
  std::string display_name;
  std::string email;
  bool login_disabled = false;
  bool allow_guest_calls = false;
  std::string call_forwarding_mode = "none";  // none, always, busy, no_answer
  std::string call_forwarding_destination;
  int call_forwarding_timeout = 20;  // seconds, for no_answer
  std::string created_at;  // ISO-8601 UTC, set by the store
  std::string updated_at;
};

inline constexpr size_t kMaxExtensionLength = 64;
inline constexpr size_t kMaxSipPasswordLength = 128;
inline constexpr size_t kMaxTextFieldLength = 255;

// Empty when `name` is a valid extension: 1..64 characters from
// [A-Za-z0-9._-]; otherwise the reason (which repeats no input).
std::string extension_name_problem(std::string_view name);
// Empty when every field of `extension` is acceptable; otherwise the first
// problem found. Never mentions the password itself.
std::string extension_problem(const Extension& extension);

struct StoreStatus {
  enum class Kind { Ok, Invalid, NotFound, Duplicate, DatabaseError };
  Kind kind = Kind::Ok;
  std::string message;

  bool ok() const { return kind == Kind::Ok; }
  static StoreStatus success() { return {}; }
  static StoreStatus fail(Kind kind, std::string message) { return {kind, std::move(message)}; }
};

// Who is told that an extension changed. subscribe() returns a token; the
// observer is called until the token is destroyed. Observers run on the
// thread that made the change, under the hub's lock (so a destroyed token
// guarantees no call is still running): they must be quick and must not
// subscribe or publish themselves.
class ExtensionChanges {
 public:
  using Observer = std::function<void(const std::string& extension)>;
  class Subscription {
   public:
    Subscription(ExtensionChanges* hub, uint64_t id) : hub_(hub), id_(id) {}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    ExtensionChanges* hub_;
    uint64_t id_;
  };

  // The hub every store publishes to unless given another one.
  static ExtensionChanges& process_wide();

  std::unique_ptr<Subscription> subscribe(Observer observer);
  void publish(const std::string& extension);

 private:
  void unsubscribe(uint64_t id);

  std::mutex mutex_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Observer> observers_;
};

class ExtensionStore {
 public:
  // `database` must outlive the store; `changes` defaults to process_wide().
  explicit ExtensionStore(Database& database, ExtensionChanges* changes = nullptr);

  // Inserts a new extension (id and timestamps are assigned); Duplicate when
  // the extension already exists.
  StoreStatus add(const Extension& extension);
  // NotFound when there is no such extension; `out` is filled on Ok.
  StoreStatus find(std::string_view extension, Extension& out);
  // All extensions ordered by extension.
  StoreStatus list(std::vector<Extension>& out);
  StoreStatus remove(std::string_view extension);
  StoreStatus set_password(std::string_view extension, const std::string& sip_password);
  // enabled = true clears login_disabled.
  StoreStatus set_enabled(std::string_view extension, bool enabled);
  // Replaces every field but id and created_at of the extension named by
  // `extension.extension`.
  StoreStatus update(const Extension& extension);

 private:
  // Runs `work` on a session; database exceptions become DatabaseError.
  // Reads pass retry = true: one retry on a reconnected session (server
  // databases after a restart).
  template <typename Work>
  StoreStatus guarded(std::string_view what, bool retry, Work&& work);
  void announce(std::string_view extension);

  Database& database_;
  ExtensionChanges& changes_;
};

}  // namespace cppbx::storage
