// The embedded default: what cppbx runs when started without --conf. It is
// built as the loader would build it from a file, so later layers see no
// difference. The first user's password is drawn fresh from the CSPRNG each
// start; it is returned to the caller (to print once), never logged here.
#include <filesystem>

#include "common/random.hpp"
#include "config/config.hpp"

namespace cppbx::config {
namespace {

constexpr size_t kGeneratedPasswordLength = 16;

UserBackendConfig memory_backend_with(const std::string& username, const std::string& password) {
  UserBackendConfig backend;
  backend.type = "memory";
  backend.key_path = "proxy.user_backends[0]";
  backend.table = toml::table{
      {"type", "memory"},
      {"users", toml::array{toml::table{{"username", username}, {"password", password}}}},
  };
  std::error_code ignored;
  backend.config_dir = std::filesystem::current_path(ignored).string();
  return backend;
}

}  // namespace

Config embedded_default(std::string& first_user, std::string& first_password) {
  first_user = "1001";
  first_password = random::alphanumeric(kGeneratedPasswordLength);
  Config config;
  config.proxy.addr = "0.0.0.0";
  config.proxy.udp_port = 5060;
  config.proxy.tcp_port = 5060;
  config.database_url = "sqlite://cppbx.sqlite3";
  config.proxy.locator.type = "memory";
  config.proxy.user_backends.push_back(memory_backend_with(first_user, first_password));
  return config;
}

}  // namespace cppbx::config
