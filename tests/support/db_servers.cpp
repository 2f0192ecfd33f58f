// See db_servers.hpp. Child processes are plain fork + exec with their output
// appended to a log in the server's folder, which the tests print when a
// server fails to come up.
#include "support/db_servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/url_parts.hpp"

namespace cppbx::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* const kPostgresBin = "/usr/lib/postgresql/15/bin";
// Spaces, quotes and URL delimiters prove that the password is escaped on
// every hop (URL, SOCI connection string, SQL that creates the account).
const char* const kTestPassword = "s3cret p@ss:w/rd'%";

std::string make_folder(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string first_executable(std::initializer_list<const char*> candidates) {
  for (const char* candidate : candidates) {
    if (executable(candidate)) return candidate;
  }
  return {};
}

// The user PostgreSQL runs as: `postgres` when it exists, else `nobody`.
bool service_account(uid_t& uid, gid_t& gid) {
  for (const char* name : {"postgres", "nobody"}) {
    if (const passwd* entry = ::getpwnam(name)) {
      uid = entry->pw_uid;
      gid = entry->pw_gid;
      return true;
    }
  }
  return false;
}

std::vector<char*> argv_of(std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (auto& part : command) argv.push_back(part.data());
  argv.push_back(nullptr);
  return argv;
}

// In the child after fork(): output to the log, optionally a new identity,
// then exec. Only async-signal-safe calls.
[[noreturn]] void exec_child(std::vector<char*>& argv, int log_fd, bool drop, uid_t uid,
                             gid_t gid) {
  ::setsid();
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, 0);
  if (log_fd >= 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
  }
  if (drop && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
    ::_exit(126);
  }
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

bool wait_exit(pid_t pid, std::chrono::seconds limit, int& status) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return true;
    if (done < 0) return true;  // not our child any more
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

DbServer::DbServer(std::string user, std::string password, std::string database)
    : user_(std::move(user)), password_(std::move(password)), database_(std::move(database)) {}

DbServer::~DbServer() {
  stop();
  if (!folder_.empty()) {
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
  }
}

std::string DbServer::encoded(const std::string& text) const { return url::percent_encoded(text); }

std::string DbServer::log_tail() const {
  std::ifstream in(folder_ + "/server.log");
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

bool DbServer::run_command(const std::vector<std::string>& command, std::string& error,
                           bool as_service_user) const {
  std::vector<std::string> copy = command;
  std::vector<char*> argv = argv_of(copy);
  int log_fd = ::open((folder_ + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
  pid_t pid = ::fork();
  if (pid == 0) exec_child(argv, log_fd, as_service_user, service_uid_, service_gid_);
  if (log_fd >= 0) ::close(log_fd);
  if (pid < 0) {
    error = "fork failed";
    return false;
  }
  int status = 0;
  if (!wait_exit(pid, std::chrono::seconds(120), status)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    error = command[0] + " did not finish within 120 s";
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = command[0] + " failed; log:\n" + log_tail();
    return false;
  }
  return true;
}

bool DbServer::start(std::string& error) {
  if (running()) return true;
  if (!created_) {
    if (!initialise(error)) return false;
    created_ = true;
  }
  // The first start may lose its port to another process between picking
  // and binding it: a server that exits at once then gets a new port. Later
  // starts keep the port, since clients are configured with it.
  const int attempts = initialised_ ? 1 : 3;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (!initialised_) port_ = free_loopback_port();
    if (launch(error)) return true;
    if (running()) break;  // still running but not usable: no point retrying
  }
  return false;
}

bool DbServer::launch(std::string& error) {
  std::vector<std::string> command = server_command();
  std::vector<char*> argv = argv_of(command);
  int log_fd = ::open((folder_ + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
  pid_ = ::fork();
  if (pid_ == 0) exec_child(argv, log_fd, drop_privileges(), service_uid_, service_gid_);
  if (log_fd >= 0) ::close(log_fd);
  if (pid_ < 0) {
    error = "fork failed";
    return false;
  }
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error = command[0] + " exited during start-up; log:\n" + log_tail();
      return false;
    }
    if (ready()) {
      if (!initialised_) {
        if (!after_first_start(error)) return false;
        initialised_ = true;
      }
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error = command[0] + " was not ready within 60 s; log:\n" + log_tail();
  stop();
  return false;
}

int DbServer::stop_signal() const { return SIGINT; }

void DbServer::stop() {
  if (pid_ <= 0) return;
  // PostgreSQL: SIGINT, its fast shutdown; MariaDB: SIGTERM.
  ::kill(pid_, stop_signal());
  int status = 0;
  if (!wait_exit(pid_, std::chrono::seconds(30), status)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

// ---- PostgreSQL ----

PostgresServer::PostgresServer() : DbServer("cppbx", kTestPassword, "cppbx") {}
PostgresServer::~PostgresServer() { stop(); }

bool PostgresServer::available() {
  return executable(std::string(kPostgresBin) + "/initdb") &&
         executable(std::string(kPostgresBin) + "/postgres") &&
         executable(std::string(kPostgresBin) + "/pg_isready") &&
         executable(std::string(kPostgresBin) + "/createdb");
}

std::string PostgresServer::missing_message() {
  return std::string("PostgreSQL 15 server binaries not found in ") + kPostgresBin +
         " (Debian package postgresql-15)";
}

std::string PostgresServer::url() const {
  return "postgres://" + encoded(user_) + ":" + encoded(password_) + "@127.0.0.1:" +
         std::to_string(port_) + "/" + database_;
}

bool PostgresServer::initialise(std::string& error) {
  if (!service_account(service_uid_, service_gid_)) {
    error = "no postgres or nobody account to run PostgreSQL as";
    return false;
  }
  folder_ = make_folder("cppbx-pg-");
  if (folder_.empty() || ::chown(folder_.c_str(), service_uid_, service_gid_) != 0) {
    error = "cannot create a folder for PostgreSQL";
    return false;
  }
  std::string password_file = folder_ + "/password";
  {
    std::ofstream out(password_file);
    out << password_ << "\n";
  }
  if (::chown(password_file.c_str(), service_uid_, service_gid_) != 0) {
    error = "cannot hand the password file to the PostgreSQL user";
    return false;
  }
  // Password authentication over TCP; the local socket is not used by tests.
  bool ok = run_command({std::string(kPostgresBin) + "/initdb", "-D", folder_ + "/data", "-U",
                         user_, "--pwfile=" + password_file, "--auth-host=scram-sha-256",
                         "--auth-local=scram-sha-256", "-E", "UTF8", "--no-sync",
                         "--no-instructions"},
                        error, true);
  fs::remove(password_file);
  return ok;
}

std::vector<std::string> PostgresServer::server_command() const {
  return {std::string(kPostgresBin) + "/postgres", "-D", folder_ + "/data", "-p",
          std::to_string(port_), "-k", folder_, "-c", "listen_addresses=127.0.0.1",
          "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
          "-c", "max_connections=60"};
}

bool PostgresServer::ready() const {
  std::string ignored;
  return run_command({std::string(kPostgresBin) + "/pg_isready", "-q", "-h", "127.0.0.1", "-p",
                      std::to_string(port_), "-t", "1"},
                     ignored);
}

bool PostgresServer::after_first_start(std::string& error) {
  // createdb reads the password from PGPASSWORD: set for this process only
  // while the child is forked, then removed again.
  ::setenv("PGPASSWORD", password_.c_str(), 1);
  bool ok = run_command({std::string(kPostgresBin) + "/createdb", "-h", "127.0.0.1", "-p",
                         std::to_string(port_), "-U", user_, database_},
                        error);
  ::unsetenv("PGPASSWORD");
  return ok;
}

// ---- MariaDB ----

MariaDbServer::MariaDbServer() : DbServer("cppbx", kTestPassword, "cppbx") {}
MariaDbServer::~MariaDbServer() { stop(); }

bool MariaDbServer::available() {
  return !first_executable({"/usr/sbin/mariadbd", "/usr/sbin/mysqld"}).empty() &&
         !first_executable({"/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"})
              .empty() &&
         !first_executable({"/usr/bin/mariadb", "/usr/bin/mysql"}).empty();
}

std::string MariaDbServer::missing_message() {
  return "MariaDB server binaries (mariadbd, mariadb-install-db, mariadb) not found "
         "(Debian packages mariadb-server and mariadb-client)";
}

int MariaDbServer::stop_signal() const { return SIGTERM; }

std::string MariaDbServer::url() const {
  return "mysql://" + encoded(user_) + ":" + encoded(password_) + "@127.0.0.1:" +
         std::to_string(port_) + "/" + database_;
}

bool MariaDbServer::initialise(std::string& error) {
  folder_ = make_folder("cppbx-mariadb-");
  if (folder_.empty()) {
    error = "cannot create a folder for MariaDB";
    return false;
  }
  // Its own tmpdir: a MariaDB starting up clears temporary tables it finds in
  // its tmpdir, including those of another instance bootstrapping beside it
  // in a shared /tmp ("Unknown table 'mysql.tmp_proxies_priv'").
  std::error_code ignored;
  std::filesystem::create_directories(folder_ + "/tmp", ignored);
  return run_command({first_executable({"/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"}),
                      "--no-defaults", "--datadir=" + folder_ + "/data", "--tmpdir=" + folder_ + "/tmp",
                      "--user=root",
                      "--auth-root-authentication-method=socket", "--skip-test-db",
                      "--skip-name-resolve"},
                     error);
}

std::vector<std::string> MariaDbServer::server_command() const {
  return {first_executable({"/usr/sbin/mariadbd", "/usr/sbin/mysqld"}),
          "--no-defaults",
          "--datadir=" + folder_ + "/data",
          "--tmpdir=" + folder_ + "/tmp",
          "--socket=" + socket_path(),
          "--pid-file=" + folder_ + "/mysqld.pid",
          "--port=" + std::to_string(port_),
          "--bind-address=127.0.0.1",
          "--user=root",
          "--skip-name-resolve",
          "--skip-log-bin",
          "--innodb-buffer-pool-size=16M",
          "--innodb-log-file-size=8M",
          "--max-connections=60"};
}

bool MariaDbServer::ready() const {
  std::string ignored;
  return run_command({first_executable({"/usr/bin/mariadb-admin", "/usr/bin/mysqladmin"}),
                      "--no-defaults", "--socket=" + socket_path(), "-uroot", "ping"},
                     ignored);
}

bool MariaDbServer::after_first_start(std::string& error) {
  // The account tests and cppbx use, with a real password over TCP. Quotes
  // in the password are doubled for the SQL literal.
  std::string literal;
  for (char c : password_) literal += c == '\'' ? std::string("''") : std::string(1, c);
  std::string sql = "CREATE DATABASE `" + database_ + "`; CREATE USER '" + user_ +
                    "'@'127.0.0.1' IDENTIFIED BY '" + literal + "'; GRANT ALL ON `" +
                    database_ + "`.* TO '" + user_ + "'@'127.0.0.1';";
  return run_command({first_executable({"/usr/bin/mariadb", "/usr/bin/mysql"}), "--no-defaults",
                      "--socket=" + socket_path(), "-uroot", "-e", sql},
                     error);
}

}  // namespace cppbx::testing
