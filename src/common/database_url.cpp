// Plain prefix checks: the accepted forms are few and fixed, and a full URL
// parser would accept (and then misread) Windows-style or relative paths.
#include "common/database_url.hpp"

#include <string_view>

namespace cppbx::database_url {
namespace {

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.rfind(prefix, 0) == 0;
}

std::string without_options(std::string path) { return path.substr(0, path.find('?')); }

}  // namespace

std::optional<std::string> sqlite_path(const std::string& url, std::string& error) {
  for (std::string_view scheme : {"mysql", "postgres", "postgresql"}) {
    if (starts_with(url, std::string(scheme) + ":")) {
      error = std::string(scheme) + " databases are not built yet; use sqlite://<path>";
      return std::nullopt;
    }
  }
  if (!starts_with(url, "sqlite:")) {
    error = "unsupported database url (expected sqlite://<path> or sqlite::memory:)";
    return std::nullopt;
  }
  std::string rest = url.substr(std::string_view("sqlite:").size());
  if (starts_with(rest, "//")) rest = rest.substr(2);
  std::string path = without_options(rest);
  if (path.empty()) {
    error = "database url names no file (expected sqlite://<path>)";
    return std::nullopt;
  }
  if (path.find('"') != std::string::npos) {
    error = "database file path may not contain a double quote";
    return std::nullopt;
  }
  return path;
}

}  // namespace cppbx::database_url
