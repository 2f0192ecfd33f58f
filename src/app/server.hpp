// One running cppbx: owns the I/O threads and wires the layers together
// (transport -> transactions -> proxy core -> modules -> user backends and
// locator). Signals: SIGTERM/SIGINT stop with a grace period for transactions
// in flight, SIGHUP re-reads the user backends from the configuration file.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"

namespace cppbx::app {

class Server {
 public:
  explicit Server(config::Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Builds every layer and binds the listeners. Throws std::runtime_error
  // with a message fit for the operator when something cannot start.
  void start();
  // Runs until a stop signal; returns the process exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cppbx::app
