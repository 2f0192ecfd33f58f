// See plain_backend.hpp for the file format and the reload design.
#include "users/plain_backend.hpp"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "users/config_fields.hpp"

namespace cppbx::users {
namespace {

std::string_view trim(std::string_view text) {
  const char* spaces = " \t\r\n\f\v";
  size_t begin = text.find_first_not_of(spaces);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(spaces);
  return text.substr(begin, end - begin + 1);
}

bool read_file(const std::string& path, std::string& out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error) *error = "cannot open users file '" + path + "'";
    return false;
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    if (error) *error = "cannot read users file '" + path + "'";
    return false;
  }
  out = std::move(content).str();
  return true;
}

}  // namespace

PlainFileContent parse_plain_users(std::string_view text) {
  PlainFileContent content;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      content.problems.emplace_back(line_number, "expected username:password");
      continue;
    }
    std::string_view username = trim(line.substr(0, colon));
    std::string_view password = trim(line.substr(colon + 1));
    if (username.empty() || password.empty()) {
      content.problems.emplace_back(line_number, username.empty() ? "empty username" : "empty password");
      continue;
    }
    auto [where, inserted] = content.passwords.emplace(username, password);
    if (!inserted) {
      content.problems.emplace_back(line_number, "duplicate user '" + where->first + "', first one kept");
    }
  }
  return content;
}

PlainBackend::PlainBackend(Options options)
    : options_(std::move(options)), table_(std::make_shared<const Table>()) {}

std::shared_ptr<PlainBackend> PlainBackend::open(Options options, std::string* error) {
  std::shared_ptr<PlainBackend> backend(new PlainBackend(std::move(options)));
  if (!backend->load(error)) return nullptr;
  if (backend->options_.watch_interval.count() > 0) {
    backend->watcher_ = std::thread([raw = backend.get()] { raw->watch(); });
  }
  return backend;
}

PlainBackend::~PlainBackend() {
  {
    std::lock_guard lock(watch_mutex_);
    stopping_ = true;
  }
  watch_wakeup_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::optional<PlainBackend::FileStamp> PlainBackend::stamp() const {
  std::error_code ec;
  FileStamp result;
  result.modified = std::filesystem::last_write_time(options_.path, ec);
  if (ec) return std::nullopt;
  result.size = std::filesystem::file_size(options_.path, ec);
  if (ec) return std::nullopt;
  return result;
}

bool PlainBackend::load(std::string* error) {
  // Stamp first: a write racing with the read then shows up as a new stamp
  // on the next check and is read again.
  auto before = stamp();
  std::string text;
  if (!before || !read_file(options_.path, text, error)) {
    if (error && !before) *error = "users file '" + options_.path + "' does not exist or is unreadable";
    return false;
  }
  PlainFileContent content = parse_plain_users(text);
  for (const auto& [line, problem] : content.problems) {
    spdlog::warn("plain users file {}:{}: {}; line skipped", options_.path, line, problem);
  }
  auto table = std::make_shared<const Table>(std::move(content.passwords));
  size_t count = table->size();
  {
    std::lock_guard lock(table_mutex_);
    table_ = std::move(table);
    loaded_stamp_ = *before;
  }
  spdlog::info("plain users file {} loaded: {} users", options_.path, count);
  return true;
}

void PlainBackend::reload() {
  std::string error;
  if (!load(&error)) spdlog::error("{}; keeping the previous users", error);
}

void PlainBackend::watch() {
  std::unique_lock lock(watch_mutex_);
  while (!watch_wakeup_.wait_for(lock, options_.watch_interval, [this] { return stopping_; })) {
    lock.unlock();
    auto current = stamp();
    bool changed;
    {
      std::lock_guard table_lock(table_mutex_);
      changed = current && !(*current == loaded_stamp_);
    }
    if (changed) reload();
    lock.lock();
  }
}

void PlainBackend::lookup(const LookupRequest& request, LookupCallback done) {
  std::shared_ptr<const Table> table;
  {
    std::lock_guard lock(table_mutex_);
    table = table_;
  }
  auto found = table->find(request.username);
  if (found == table->end()) {
    done(LookupResult::not_found());
    return;
  }
  SipUser user;
  user.username = found->first;
  user.password = found->second;
  done(LookupResult::found(std::move(user)));
}

size_t PlainBackend::user_count() const {
  std::lock_guard lock(table_mutex_);
  return table_->size();
}

std::shared_ptr<UserBackend> make_plain_backend(const config::UserBackendConfig& cfg,
                                                config::Diagnostics& diagnostics) {
  ConfigFields fields(cfg.table, cfg.key_path, cfg.where, diagnostics);
  auto path = fields.string("path", true);
  fields.warn_unknown_keys();
  if (!path) return nullptr;
  if (path->empty()) {
    fields.error(fields.node("path"), "path", "must not be empty");
    return nullptr;
  }
  std::filesystem::path resolved(*path);
  if (resolved.is_relative() && !cfg.config_dir.empty()) {
    resolved = std::filesystem::path(cfg.config_dir) / resolved;
  }
  std::string error;
  auto backend = PlainBackend::open({resolved.lexically_normal().string()}, &error);
  if (!backend) fields.error(fields.node("path"), "path", error);
  return backend;
}

}  // namespace cppbx::users
