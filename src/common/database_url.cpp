// Plain prefix checks and one hand-written authority parser: the accepted
// forms are few and fixed, a full URL parser would accept (and then misread)
// Windows-style or relative SQLite paths, and every error must be phrased
// without the URL since it may hold a password.
#include "common/database_url.hpp"

#include "common/url_parts.hpp"

#include <string_view>

namespace cppbx::database_url {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string without_options(std::string path) { return path.substr(0, path.find('?')); }

using url::percent_decoded;

std::optional<Parsed> sqlite_parsed(const std::string& url, std::string& error) {
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
  Parsed parsed;
  parsed.sqlite_path = path;
  return parsed;
}

// host, [v6], host:port or [v6]:port.
bool parse_host_port(std::string_view text, Parsed& parsed, std::string& error) {
  url::HostPortError why{};
  auto parts = url::split_host_port(text, why);
  if (!parts) {
    error = why == url::HostPortError::UnclosedBracket ? "database url has an unclosed '[' in its host"
                                                       : "database url has text after its ']'";
    return false;
  }
  if (parts->host.empty()) {
    error = "database url names no host";
    return false;
  }
  parsed.host = std::string(parts->host);
  if (parts->port.empty()) return true;  // the scheme's default
  auto port = url::parse_port(parts->port);
  if (!port) {
    error = "database url has an invalid port (expected 1-65535)";
    return false;
  }
  parsed.port = *port;
  return true;
}

bool parse_credentials(std::string_view text, Parsed& parsed, std::string& error) {
  size_t colon = text.find(':');
  auto user = percent_decoded(text.substr(0, colon));
  std::optional<std::string> password = std::string();
  if (colon != std::string_view::npos) password = percent_decoded(text.substr(colon + 1));
  if (!user || !password) {
    error = "database url has a broken %-escape in its user or password";
    return false;
  }
  parsed.user = std::move(*user);
  parsed.password = std::move(*password);
  return true;
}

bool parse_options(std::string_view query, Parsed& parsed, std::string& error) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    std::string_view name = pair.substr(0, equals);
    std::string_view value = equals == std::string_view::npos ? "" : pair.substr(equals + 1);
    if (parsed.kind == Kind::Postgresql && name == "sslmode") {
      auto decoded = percent_decoded(value);
      if (!decoded || decoded->empty()) {
        error = "database url option sslmode needs a value";
        return false;
      }
      parsed.sslmode = *decoded;
      continue;
    }
    error = "database url option '" + std::string(name).substr(0, 40) + "' is not supported";
    return false;
  }
  return true;
}

std::optional<Parsed> server_parsed(std::string_view rest, Kind kind, std::string& error) {
  Parsed parsed;
  parsed.kind = kind;
  parsed.port = kind == Kind::Postgresql ? 5432 : 3306;
  if (!starts_with(rest, "//")) {
    error = "database url must look like scheme://user:password@host:port/database";
    return std::nullopt;
  }
  rest.remove_prefix(2);
  size_t query_at = rest.find('?');
  std::string_view query = query_at == std::string_view::npos ? "" : rest.substr(query_at + 1);
  rest = rest.substr(0, query_at);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  // The password may hold '@' when not escaped: the host follows the last one.
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos && !parse_credentials(authority.substr(0, at), parsed, error)) {
    return std::nullopt;
  }
  std::string_view host_port = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (!parse_host_port(host_port, parsed, error)) return std::nullopt;
  auto database = percent_decoded(path);
  if (!database || database->empty() || database->find('/') != std::string::npos) {
    error = "database url names no database (expected .../<database>)";
    return std::nullopt;
  }
  parsed.database = std::move(*database);
  if (!parse_options(query, parsed, error)) return std::nullopt;
  return parsed;
}

// A value for SOCI's MySQL connection string, single-quoted with \ escapes
// (its parameter parser reads that form; a space inside quotes survives).
std::string quoted(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

std::optional<Parsed> parse(const std::string& url, std::string& error) {
  if (starts_with(url, "sqlite:")) return sqlite_parsed(url, error);
  if (starts_with(url, "postgresql:")) {
    return server_parsed(std::string_view(url).substr(11), Kind::Postgresql, error);
  }
  if (starts_with(url, "postgres:")) {
    return server_parsed(std::string_view(url).substr(9), Kind::Postgresql, error);
  }
  if (starts_with(url, "mysql:")) {
    return server_parsed(std::string_view(url).substr(6), Kind::Mysql, error);
  }
  error =
      "unsupported database url (expected sqlite://<path>, sqlite::memory:, "
      "postgres://user:password@host:port/db or mysql://user:password@host:port/db)";
  return std::nullopt;
}

std::string soci_connect_string(const Parsed& parsed, int timeout_seconds) {
  std::string timeout = std::to_string(timeout_seconds < 1 ? 1 : timeout_seconds);
  std::string text;
  if (parsed.kind == Kind::Postgresql) {
    // libpq's URI form: SOCI splits key=value strings at spaces, which would
    // break a quoted password that contains one; the URI has no spaces.
    std::string host = parsed.host.find(':') != std::string::npos ? "[" + parsed.host + "]"
                                                                 : url::percent_encoded(parsed.host);
    text = "postgresql://";
    if (!parsed.user.empty()) {
      text += url::percent_encoded(parsed.user);
      if (!parsed.password.empty()) text += ":" + url::percent_encoded(parsed.password);
      text += "@";
    }
    text += host + ":" + std::to_string(parsed.port) + "/" + url::percent_encoded(parsed.database) +
            "?connect_timeout=" + timeout +
            // NOTICEs ("table exists, skipping") would go to stderr.
            "&options=-c%20client_min_messages%3Dwarning";
    if (!parsed.sslmode.empty()) text += "&sslmode=" + url::percent_encoded(parsed.sslmode);
    return text;
  }
  text = "host=" + quoted(parsed.host) + " port=" + std::to_string(parsed.port) +
         " db=" + quoted(parsed.database) + " connect_timeout=" + timeout +
         " read_timeout=" + timeout + " write_timeout=" + timeout + " charset=utf8mb4";
  if (!parsed.user.empty()) text += " user=" + quoted(parsed.user);
  if (!parsed.password.empty()) text += " password=" + quoted(parsed.password);
  return text;
}

std::optional<std::string> sqlite_path(const std::string& url, std::string& error) {
  auto parsed = parse(url, error);
  if (!parsed) return std::nullopt;
  if (parsed->kind != Kind::Sqlite) {
    // The phrase "not built yet" is what config tests expect until the loader
    // validates with parse() and accepts server URLs for the main database.
    error = std::string(parsed->kind == Kind::Mysql ? "mysql" : "postgresql") +
            " is not built yet where a sqlite file is needed; use sqlite://<path>";
    return std::nullopt;
  }
  return parsed->sqlite_path;
}

}  // namespace cppbx::database_url
