// Diagnostics print like compiler messages ("file:line:col: error: ...") so
// editors and humans can jump straight to the spot.
#include <fmt/format.h>

#include "config/config.hpp"

namespace cppbx::config {

std::string Diagnostic::to_string() const {
  std::string position = where.file.empty() ? std::string("(embedded)") : where.file;
  if (where.line > 0) position += fmt::format(":{}:{}", where.line, where.column);
  const char* label = severity == Severity::Error ? "error" : "warning";
  if (key.empty()) return fmt::format("{}: {}: {}", position, label, message);
  return fmt::format("{}: {}: {}: {}", position, label, key, message);
}

void Diagnostics::error(SourceLocation where, std::string key, std::string message) {
  items_.push_back({Diagnostic::Severity::Error, std::move(where), std::move(key),
                    std::move(message)});
}

void Diagnostics::warning(SourceLocation where, std::string key, std::string message) {
  items_.push_back({Diagnostic::Severity::Warning, std::move(where), std::move(key),
                    std::move(message)});
}

bool Diagnostics::has_errors() const {
  for (const auto& item : items_) {
    if (item.severity == Diagnostic::Severity::Error) return true;
  }
  return false;
}

}  // namespace cppbx::config
