// The built-in schema history, one entry per version, never edited once
// released: a change to the schema is a new entry at the end. Each feature
// that owns tables (extensions, locations, ...) appends its own entries here.
#include "storage/database.hpp"

namespace cppbx::storage {
namespace {

// The PBX's own extensions (storage/extension_store.hpp). Only the id column
// differs per dialect; every other column is VARCHAR (MySQL cannot index or
// default TEXT) or a small integer used as a boolean, so the same reads work
// on all three. Timestamps are ISO-8601 UTC text, like schema_migrations.
Migration extensions_table(int version) {
  auto create_with_id = [](const std::string& id_column) {
    return "CREATE TABLE IF NOT EXISTS extensions ("
           " id " + id_column + ","
           " extension VARCHAR(64) NOT NULL UNIQUE,"
           " sip_password VARCHAR(128) NOT NULL,"
           " display_name VARCHAR(255) NOT NULL DEFAULT '',"
           " email VARCHAR(255) NOT NULL DEFAULT '',"
           " login_disabled SMALLINT NOT NULL DEFAULT 0,"
           " allow_guest_calls SMALLINT NOT NULL DEFAULT 0,"
           " call_forwarding_mode VARCHAR(16) NOT NULL DEFAULT 'none',"
           " call_forwarding_destination VARCHAR(255) NOT NULL DEFAULT '',"
           " call_forwarding_timeout INTEGER NOT NULL DEFAULT 20,"
           " created_at VARCHAR(32) NOT NULL,"
           " updated_at VARCHAR(32) NOT NULL)";
  };
  Migration migration;
  migration.version = version;
  migration.name = "create extensions";
  migration.sqlite = {create_with_id("INTEGER PRIMARY KEY AUTOINCREMENT")};
  migration.postgresql = {create_with_id("BIGSERIAL PRIMARY KEY")};
  migration.mysql = {create_with_id("BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY")};
  return migration;
}

}  // namespace

const std::vector<Migration>& builtin_migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       "create schema_migrations",
       {"CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"}},
      extensions_table(2),
  };
  return migrations;
}

}  // namespace cppbx::storage
