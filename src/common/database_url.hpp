// Reading `database_url`. Shared by config (to reject a bad URL at load time,
// with its position in the file), storage (to open it) and the database user
// backend, so all agree on what is accepted.
//
// Accepted: sqlite://<path>, sqlite:<path>, sqlite:///<absolute path>,
// sqlite::memory: and sqlite://:memory: (options after '?', sqlx style such
// as ?mode=rwc, are dropped); postgres:// or postgresql:// and mysql://
// user:password@host:port/database, user and password percent-decoded, port
// defaulting to 5432 / 3306, host possibly an [IPv6] literal. PostgreSQL takes
// ?sslmode=...; any other option on a server URL is refused by name, so a
// typo does not silently connect differently. Error messages never repeat
// the URL or the password.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cppbx::database_url {

enum class Kind { Sqlite, Postgresql, Mysql };

struct Parsed {
  Kind kind = Kind::Sqlite;
  std::string sqlite_path;  // Sqlite: the file, or ":memory:"
  // Postgresql, Mysql:
  std::string user;
  std::string password;
  std::string host;
  uint16_t port = 0;
  std::string database;
  std::string sslmode;  // Postgresql only; empty: libpq's default
};

// The parts of `url`, or nullopt with the reason in `error`.
std::optional<Parsed> parse(const std::string& url, std::string& error);

// The SOCI connection string for the PostgreSQL backend (a libpq URI) or the
// MySQL backend (quoted key=value pairs), so spaces and quotes in a password
// survive, with the connect (and MySQL read/write) timeouts in whole seconds,
// at least 1. Holds the password: never log it.
std::string soci_connect_string(const Parsed& parsed, int timeout_seconds);

// The SQLite file (":memory:" for an in-memory database), or nullopt with
// the reason in `error` (also for a PostgreSQL or MySQL URL).
std::optional<std::string> sqlite_path(const std::string& url, std::string& error);

}  // namespace cppbx::database_url
