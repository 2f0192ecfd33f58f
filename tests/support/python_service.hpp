// A Python (stdlib) HTTP service on a free loopback port for unit tests, and
// a blocking libcurl GET/POST for reading its records. Header-only so test
// executables that do not link cppbx_test_support can include it by path.
//
// The service process gets PR_SET_PDEATHSIG so a crashed test leaves no
// orphan; stop() kills it (to test "receiver down") and start() brings it
// back on the same port.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace cppbx::test {

inline int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

inline bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

// A blocking request for test code only: {status, body}; status 0 on failure.
inline std::pair<long, std::string> blocking_request(const std::string& url, const std::string& post_body = {},
                                                     bool post = false) {
  std::string body;
  CURL* easy = curl_easy_init();
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  });
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  if (post) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post_body.c_str());
  }
  long status = 0;
  if (curl_easy_perform(easy) == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);
  return {status, body};
}

class PythonService {
 public:
  // `script` is relative to tests/support/http_services/.
  PythonService(std::string script, std::vector<std::string> arguments = {})
      : script_(std::string(CPPBX_SOURCE_DIR) + "/tests/support/http_services/" + std::move(script)),
        arguments_(std::move(arguments)) {
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) {
      port_ = free_tcp_port();
      start();
    }
  }
  ~PythonService() { stop(); }
  PythonService(const PythonService&) = delete;
  PythonService& operator=(const PythonService&) = delete;

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  // (Re)starts on the same port; true once it accepts connections.
  bool start() {
    if (pid_ > 0) return true;
    std::vector<std::string> argv = {"/usr/bin/python3", "-B", script_, "--port", std::to_string(port_)};
    argv.insert(argv.end(), arguments_.begin(), arguments_.end());
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> raw;
      for (auto& arg : argv) raw.push_back(arg.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (accepts_connections(port_)) {
        pid_ = pid;
        return true;
      }
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  nlohmann::json get_json(const std::string& path) const {
    auto [status, body] = blocking_request(url(path));
    if (status != 200) return nlohmann::json();
    return nlohmann::json::parse(body, nullptr, false);
  }
  long post_json(const std::string& path, const nlohmann::json& body) const {
    return blocking_request(url(path), body.dump(), true).first;
  }

  // recorder_service.py: every recorded request.
  nlohmann::json requests() const { return get_json("/_requests").value("requests", nlohmann::json::array()); }

 private:
  std::string script_;
  std::vector<std::string> arguments_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace cppbx::test
