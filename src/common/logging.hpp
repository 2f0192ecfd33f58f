// Logging set-up: every layer logs through spdlog's default logger
// (spdlog::info(...)); this file only decides where that goes.
//
// The default logger is created once and writes through a distributing sink;
// init() swaps the sinks inside it under that sink's own lock. So init() may
// be called again at any time (SIGHUP, log rotation) while other threads are
// logging, without ever replacing the logger object they are using.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace cppbx::log {

// "trace", "debug", "info", "warn" (or "warning"), "error", "critical",
// "off"; case-insensitive. nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_level(std::string_view name);

// The accepted level names, for error messages and docs.
std::string_view level_names();

// Sends the default logger to `file` (appending), or to stderr when `file` is
// empty, at `level`. Returns false with a reason in `error` when the level is
// unknown (nothing changes) or the file cannot be opened (logs go to stderr).
bool init(std::string_view level, const std::string& file, std::string* error = nullptr);

// Re-opens the current destination (after log rotation). Same result as init().
bool reopen(std::string* error = nullptr);

// The destination last configured: empty for stderr.
std::string current_file();

}  // namespace cppbx::log
