// See redis_server.hpp.
#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace cppbx::testing {
namespace {

const char* const kRedisServer = "/usr/bin/redis-server";

// True when something answers a RESP PING on the port (+PONG or -NOAUTH).
bool answers_ping(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool up = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const char ping[] = "*1\r\n$4\r\nPING\r\n";
    char answer = 0;
    if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof ping - 1) &&
        ::recv(fd, &answer, 1, 0) == 1) {
      up = answer == '+' || answer == '-';
    }
  }
  ::close(fd);
  return up;
}

}  // namespace

RedisServer::RedisServer(std::string password) : DbServer("", std::move(password), "0") {}
RedisServer::~RedisServer() { stop(); }

bool RedisServer::available() { return ::access(kRedisServer, X_OK) == 0; }

std::string RedisServer::missing_message() {
  return std::string(kRedisServer) + " not found (Debian package redis-server)";
}

std::string RedisServer::url() const {
  std::string credentials = password_.empty() ? "" : ":" + encoded(password_) + "@";
  return "redis://" + credentials + "127.0.0.1:" + std::to_string(port_) + "/" + database_;
}

bool RedisServer::initialise(std::string& error) {
  std::string pattern = (std::filesystem::temp_directory_path() / "cppbx-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    error = "cannot create a temporary folder";
    return false;
  }
  folder_ = pattern;
  return true;
}

std::vector<std::string> RedisServer::server_command() const {
  std::vector<std::string> command = {kRedisServer, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", folder_};
  if (!password_.empty()) {
    command.push_back("--requirepass");
    command.push_back(password_);
  }
  return command;
}

bool RedisServer::ready() const { return answers_ping(port_); }

int RedisServer::stop_signal() const { return SIGTERM; }

}  // namespace cppbx::testing
