// Real PostgreSQL 15 and MariaDB servers for tests, each in its own temporary
// folder on a free loopback port, with a password-protected account (so the
// tests exercise real authentication, not --skip-grant-tables or trust).
//
// Design: the servers are child processes of the test, started directly
// (fork + exec) rather than through pg_ctl or mysqld_safe, so stop() knows
// the exact pid to signal and wait for. PostgreSQL refuses to run as root:
// its child drops to the `postgres` system user (or `nobody`) before exec and
// the folder is handed to that user. stop() then start() again keeps the
// data and the port, which is how tests simulate an outage and a recovery.
// available() is false only when the server binaries are missing; tests use
// it to GTEST_SKIP with a clear message and fail on any other problem.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cppbx::testing {

// A loopback TCP port that was free a moment ago.
uint16_t free_loopback_port();

class DbServer {
 public:
  virtual ~DbServer();
  DbServer(const DbServer&) = delete;
  DbServer& operator=(const DbServer&) = delete;

  // Creates the data folder on first use, then starts the server and waits
  // until it accepts connections. False with `error` on failure.
  bool start(std::string& error);
  // Stops the server (fast shutdown) and waits for it to exit; data stays.
  void stop();
  bool running() const { return pid_ > 0; }

  // The URL cppbx would be configured with, password percent-encoded.
  virtual std::string url() const = 0;
  uint16_t port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& database() const { return database_; }
  const std::string& folder() const { return folder_; }
  // The server's log, for failure messages.
  std::string log_tail() const;

 protected:
  DbServer(std::string user, std::string password, std::string database);
  virtual bool initialise(std::string& error) = 0;
  virtual std::vector<std::string> server_command() const = 0;
  virtual bool ready() const = 0;
  // Creates the database and account once the server is up for the first time.
  virtual bool after_first_start(std::string& error) = 0;
  virtual bool drop_privileges() const { return false; }
  virtual int stop_signal() const;
  bool run_command(const std::vector<std::string>& command, std::string& error,
                   bool as_service_user = false) const;
  std::string encoded(const std::string& text) const;

  std::string folder_;
  uint16_t port_ = 0;
  std::string user_;
  std::string password_;
  std::string database_;
  uid_t service_uid_ = 0;
  gid_t service_gid_ = 0;

 private:
  bool launch(std::string& error);

  bool created_ = false;      // data folder initialised
  bool initialised_ = false;  // account and database created, port fixed
  pid_t pid_ = -1;
};

class PostgresServer final : public DbServer {
 public:
  PostgresServer();
  ~PostgresServer() override;
  static bool available();
  static std::string missing_message();
  std::string url() const override;

 private:
  bool initialise(std::string& error) override;
  std::vector<std::string> server_command() const override;
  bool ready() const override;
  bool after_first_start(std::string& error) override;
  bool drop_privileges() const override { return true; }
};

class MariaDbServer final : public DbServer {
 public:
  MariaDbServer();
  ~MariaDbServer() override;
  static bool available();
  static std::string missing_message();
  std::string url() const override;

 private:
  bool initialise(std::string& error) override;
  std::vector<std::string> server_command() const override;
  bool ready() const override;
  bool after_first_start(std::string& error) override;
  int stop_signal() const override;
  std::string socket_path() const { return folder_ + "/mysqld.sock"; }
};

}  // namespace cppbx::testing
