// The built-in schema history, one entry per version, never edited once
// released: a change to the schema is a new entry at the end. Each feature
// that owns tables (extensions, locations, ...) appends its own entries here.
#include "storage/database.hpp"

namespace cppbx::storage {

const std::vector<Migration>& builtin_migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       "create schema_migrations",
       {"CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"}},
  };
  return migrations;
}

}  // namespace cppbx::storage
