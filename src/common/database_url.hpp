// Reading `database_url`. Shared by config (to reject a bad URL at load time,
// with its position in the file) and storage (to open it), so both always
// agree on what is accepted.
//
// Accepted: sqlite://<path>, sqlite:<path>, sqlite:///<absolute path>,
// sqlite::memory: and sqlite://:memory:. Options after '?' (sqlx style, such
// as ?mode=rwc) are dropped. MySQL and PostgreSQL are recognised but refused
// as not built yet. Error messages never repeat the URL, which may hold a
// password.
#pragma once

#include <optional>
#include <string>

namespace cppbx::database_url {

// The SQLite file (":memory:" for an in-memory database), or nullopt with
// the reason in `error`.
std::optional<std::string> sqlite_path(const std::string& url, std::string& error);

}  // namespace cppbx::database_url
