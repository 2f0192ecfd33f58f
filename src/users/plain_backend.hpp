// Users from a text file (`type = "plain"`, `path`): one "username:password"
// a line; blank lines and lines starting with '#' are skipped, whitespace
// around names and passwords is trimmed, the password is everything after the
// first ':' (so it may contain ':'). Malformed lines are logged with their line
// number and skipped. These users have no realm (they match every realm).
//
// Reloading: lookups never touch the disk (they run on SIP I/O threads). A
// small watcher thread stats the file every `watch_interval` (1 s by
// default) and re-reads it when its modification time or size changed;
// reload() (SIGHUP) re-reads at once. When a reload fails (file gone or
// unreadable) the error is logged and the previous users stay in use. The
// user table is an immutable snapshot swapped under a mutex, so a lookup only
// holds the lock long enough to copy a shared_ptr.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

struct PlainFileContent {
  std::unordered_map<std::string, std::string> passwords;  // username -> password
  std::vector<std::pair<size_t, std::string>> problems;     // line number, what is wrong
};
PlainFileContent parse_plain_users(std::string_view text);

class PlainBackend final : public UserBackend {
 public:
  struct Options {
    std::string path;  // already resolved against the config folder
    std::chrono::milliseconds watch_interval{1000};  // 0: no watcher thread
  };
  // nullptr and a reason in `error` when the file cannot be read.
  static std::shared_ptr<PlainBackend> open(Options options, std::string* error);
  ~PlainBackend() override;
  PlainBackend(const PlainBackend&) = delete;
  PlainBackend& operator=(const PlainBackend&) = delete;

  std::string_view type() const override { return "plain"; }
  void lookup(const LookupRequest& request, LookupCallback done) override;
  void reload() override;
  size_t user_count() const;
  const std::string& path() const { return options_.path; }

 private:
  using Table = std::unordered_map<std::string, std::string>;
  struct FileStamp {
    std::filesystem::file_time_type modified{};
    std::uintmax_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };
  explicit PlainBackend(Options options);
  bool load(std::string* error);
  void watch();
  std::optional<FileStamp> stamp() const;

  Options options_;
  mutable std::mutex table_mutex_;
  std::shared_ptr<const Table> table_;
  FileStamp loaded_stamp_;  // guarded by table_mutex_

  std::mutex watch_mutex_;
  std::condition_variable watch_wakeup_;
  bool stopping_ = false;
  std::thread watcher_;
};

// Reads `path` (relative to the config file's folder) and loads the file; a
// missing or unreadable file is an error on `<entry>.path`.
std::shared_ptr<UserBackend> make_plain_backend(const config::UserBackendConfig& cfg,
                                                config::Diagnostics& diagnostics);

}  // namespace cppbx::users
