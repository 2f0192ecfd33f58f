// A real redis-server for tests, in its own temporary folder on a free
// loopback port, without persistence (--save '' --appendonly no), with an
// optional password (--requirepass).
//
// Design: it reuses DbServer (db_servers.hpp) for the child process, the
// folder and the port, so stop() then start() keeps the port: that is how
// tests take Redis away and bring it back. Readiness is a raw RESP PING over
// TCP (NOAUTH counts as "up"), so the support library needs no Redis client.
#pragma once

#include <string>

#include "support/db_servers.hpp"

namespace cppbx::testing {

class RedisServer final : public DbServer {
 public:
  // Empty password: no AUTH. The password may hold URL delimiters but not
  // spaces or quotes (redis-server splits its arguments like config lines).
  explicit RedisServer(std::string password = {});
  ~RedisServer() override;
  static bool available();
  static std::string missing_message();
  // "redis://[:password@]127.0.0.1:port/0", password percent-encoded.
  std::string url() const override;

 private:
  bool initialise(std::string& error) override;
  std::vector<std::string> server_command() const override;
  bool ready() const override;
  bool after_first_start(std::string&) override { return true; }
  int stop_signal() const override;
};

}  // namespace cppbx::testing
