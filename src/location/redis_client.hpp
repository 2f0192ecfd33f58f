// A small synchronous Redis client over hiredis, for the redis locator's
// worker threads (never a SIP thread).
//
// Design decisions:
// - One RedisConnection is used by one thread at a time; the locator keeps
//   one per worker. Every failure (connect, I/O, timeout, protocol) closes
//   the context and throws RedisError; the next call connects again, so a
//   Redis restart costs one failed call, not a restart of cppbx.
// - Connect and command timeouts are both the locator's timeout_ms, so a
//   worker stuck on a dead server comes back within that time.
// - Lua scripts run with EVALSHA; on NOSCRIPT (a restarted or flushed
//   server) the same call is repeated once with EVAL, which also caches the
//   script again.
// - The password never appears in an error message or a log line:
//   RedisEndpoint::describe() names host, port and db only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace cppbx::location {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string user;      // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
  uint32_t db = 0;

  // "host:port/db" (never the credentials), for errors and logs.
  std::string describe() const;
};

// Parses "redis://[[user]:password@]host[:port][/db]" (user and password
// percent-decoded, IPv6 hosts in brackets). nullopt with `error` (which
// never repeats the password) when malformed.
std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& error);

class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// A Lua script; each connection learns its SHA-1 with SCRIPT LOAD on first use.
struct RedisScript {
  std::string source;
};

class RedisConnection {
 public:
  RedisConnection(RedisEndpoint endpoint, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Runs one command; connects first when needed. Throws RedisError when
  // the server cannot be reached or answers with an error reply.
  RedisReplyPtr command(const std::vector<std::string>& arguments);
  // EVALSHA (EVAL after NOSCRIPT) with these keys and arguments.
  RedisReplyPtr eval(const RedisScript& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& arguments);

  bool connected() const { return context_ != nullptr; }
  void disconnect();

 private:
  void connect();
  void ensure_connected();
  RedisReplyPtr send(const std::vector<std::string>& arguments);
  [[noreturn]] void fail(const std::string& what);

  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
  std::vector<std::pair<const RedisScript*, std::string>> script_shas_;
};

// Reply helpers: text of a string/status reply, array elements.
std::string reply_text(const redisReply* reply);
bool reply_is_nil(const redisReply* reply);

}  // namespace cppbx::location
