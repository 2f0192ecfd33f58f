// One process-wide logger with a dist_sink: swapping its child sinks is
// thread-safe, replacing spdlog's default logger is not (default_logger_raw()
// hands out a bare pointer). Files are flushed on warnings and every second,
// so a crash loses at most a second of debug output.
#include "common/logging.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace cppbx::log {
namespace {

constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%t] %v";

struct LoggingState {
  std::mutex mutex;  // serialises init() calls, not logging
  std::shared_ptr<spdlog::sinks::dist_sink_mt> dist;
  std::string file;
  spdlog::level::level_enum level = spdlog::level::info;
};

LoggingState& state() {
  static LoggingState* instance = [] {
    auto* created = new LoggingState;  // never destroyed: loggers outlive statics
    created->dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    created->dist->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    auto logger = std::make_shared<spdlog::logger>("cppbx", created->dist);
    logger->set_pattern(kPattern);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    spdlog::flush_every(std::chrono::seconds(1));
    return created;
  }();
  return *instance;
}

std::string lowercase(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

spdlog::sink_ptr make_sink(const std::string& file, std::string* error) {
  if (file.empty()) return std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  try {
    return std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false);
  } catch (const std::exception& e) {
    if (error) *error = "cannot open log file '" + file + "': " + e.what();
    return nullptr;
  }
}

bool apply(LoggingState& s, spdlog::level::level_enum level, const std::string& file,
           std::string* error) {
  auto sink = make_sink(file, error);
  bool opened = sink != nullptr;
  if (!opened) sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_pattern(kPattern);
  s.dist->set_sinks({sink});
  s.file = opened ? file : std::string();
  s.level = level;
  spdlog::default_logger()->set_level(level);
  return opened;
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) {
  std::string lower = lowercase(name);
  if (lower == "trace") return spdlog::level::trace;
  if (lower == "debug") return spdlog::level::debug;
  if (lower == "info") return spdlog::level::info;
  if (lower == "warn" || lower == "warning") return spdlog::level::warn;
  if (lower == "error") return spdlog::level::err;
  if (lower == "critical") return spdlog::level::critical;
  if (lower == "off") return spdlog::level::off;
  return std::nullopt;
}

std::string_view level_names() { return "trace, debug, info, warn, error, critical, off"; }

bool init(std::string_view level, const std::string& file, std::string* error) {
  auto parsed = parse_level(level);
  if (!parsed) {
    if (error) *error = "unknown log level '" + std::string(level) + "' (expected one of " +
                        std::string(level_names()) + ")";
    return false;
  }
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  return apply(s, *parsed, file, error);
}

bool reopen(std::string* error) {
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  std::string file = s.file;
  return apply(s, s.level, file, error);
}

std::string current_file() {
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  return s.file;
}

}  // namespace cppbx::log
