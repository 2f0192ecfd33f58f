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

// The database locator's bindings (location/database_locator.hpp), one row
// per binding of an AoR. Times are microseconds since the Unix epoch (UTC),
// so expiry comparisons are plain integer comparisons on every dialect; `seq`
// keeps an AoR's bindings in modification order. Indexed columns are VARCHAR
// (MySQL cannot index TEXT); the key columns fit MySQL's 3072-byte index
// limit in utf8mb4. MySQL declares its indexes inside CREATE TABLE so the
// whole migration can be re-run (it has no CREATE INDEX IF NOT EXISTS).
Migration locations_table(int version) {
  const std::string columns =
      " aor VARCHAR(255) NOT NULL,"
      " binding_key VARCHAR(500) NOT NULL,"
      " seq BIGINT NOT NULL,"
      " contact TEXT NOT NULL,"
      " contact_params TEXT NOT NULL,"
      " instance_id TEXT NOT NULL,"
      " reg_id BIGINT NOT NULL,"
      " expires_at BIGINT NOT NULL,"
      " destination TEXT NOT NULL,"
      " transport VARCHAR(8) NOT NULL,"
      " connection_id BIGINT NOT NULL,"
      " user_agent TEXT NOT NULL,"
      " path TEXT NOT NULL,"
      " supports_webrtc SMALLINT NOT NULL,"
      " call_id TEXT NOT NULL,"
      " cseq BIGINT NOT NULL,"
      " last_modified BIGINT NOT NULL,"
      " home_proxy VARCHAR(255) NOT NULL,"
      " q DOUBLE PRECISION NOT NULL,"
      " PRIMARY KEY (aor, binding_key)";
  Migration migration;
  migration.version = version;
  migration.name = "create locations";
  migration.statements = {
      "CREATE TABLE IF NOT EXISTS locations (" + columns + ")",
      "CREATE INDEX IF NOT EXISTS locations_expires_at ON locations (expires_at)",
      "CREATE INDEX IF NOT EXISTS locations_flow ON locations (home_proxy, connection_id)"};
  migration.mysql = {"CREATE TABLE IF NOT EXISTS locations (" + columns +
                     ", INDEX locations_expires_at (expires_at),"
                     " INDEX locations_flow (home_proxy, connection_id))"};
  return migration;
}

// One row per finished call (storage/call_record_store.hpp); times in Unix
// milliseconds.
Migration call_records_table(int version) {
  const std::string columns =
      " call_id VARCHAR(255) NOT NULL,"
      " caller TEXT NOT NULL,"
      " callee TEXT NOT NULL,"
      " answered_by TEXT NOT NULL,"
      " caller_transport VARCHAR(8) NOT NULL,"
      " callee_transport VARCHAR(8) NOT NULL,"
      " started_at BIGINT NOT NULL,"
      " ringing_at BIGINT NULL,"
      " answered_at BIGINT NULL,"
      " ended_at BIGINT NOT NULL,"
      " end_reason VARCHAR(32) NOT NULL,"
      " status_code INTEGER NOT NULL";
  Migration migration;
  migration.version = version;
  migration.name = "create call_records";
  const std::string indexes[] = {
      "CREATE INDEX IF NOT EXISTS call_records_call_id ON call_records (call_id)",
      "CREATE INDEX IF NOT EXISTS call_records_ended_at ON call_records (ended_at)"};
  migration.sqlite = {"CREATE TABLE IF NOT EXISTS call_records (id INTEGER PRIMARY KEY AUTOINCREMENT," +
                          columns + ")",
                      indexes[0], indexes[1]};
  migration.postgresql = {"CREATE TABLE IF NOT EXISTS call_records (id BIGSERIAL PRIMARY KEY," + columns + ")",
                          indexes[0], indexes[1]};
  migration.mysql = {"CREATE TABLE IF NOT EXISTS call_records (id BIGINT AUTO_INCREMENT PRIMARY KEY," +
                     columns +
                     ", INDEX call_records_call_id (call_id), INDEX call_records_ended_at (ended_at))"};
  migration.statements = migration.sqlite;
  return migration;
}

// Console administrators (storage/admin_store.hpp): a unique name and the
// argon2id hash in PHC form (at most ~100 characters with our costs; 255
// leaves room for larger ones). Only the id column differs per dialect.
Migration admins_table(int version) {
  auto create_with_id = [](const std::string& id_column) {
    return "CREATE TABLE IF NOT EXISTS admins ("
           " id " + id_column + ","
           " username VARCHAR(64) NOT NULL UNIQUE,"
           " password_hash VARCHAR(255) NOT NULL,"
           " created_at VARCHAR(32) NOT NULL,"
           " updated_at VARCHAR(32) NOT NULL)";
  };
  Migration migration;
  migration.version = version;
  migration.name = "create admins";
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
      locations_table(3),
      call_records_table(4),
      admins_table(5),
  };
  return migrations;
}

}  // namespace cppbx::storage
