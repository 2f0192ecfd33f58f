// See redis_client.hpp. hiredis 0.14: synchronous contexts, RESP2 replies.
#include "location/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <iterator>

#include "common/url_parts.hpp"

namespace cppbx::location {
namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return tv;
}

using url::percent_decoded;

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Splits "host[:port]" with IPv6 in brackets. A ':' anywhere asks for a
// port, so "[::1]" alone is refused as before (give "[::1]:6379").
bool parse_host_port(std::string_view text, RedisEndpoint& endpoint, std::string& error) {
  url::HostPortError why{};
  auto parts = url::split_host_port(text, why);
  if (!parts) {
    error = why == url::HostPortError::UnclosedBracket ? "unclosed '[' in the host"
                                                       : "unexpected text after the IPv6 host";
    return false;
  }
  if (parts->host.empty()) {
    error = "no host";
    return false;
  }
  endpoint.host = std::string(parts->host);
  if (!parts->port.empty() || text.find(':') != std::string_view::npos) {
    auto port = url::parse_port(parts->port);
    if (!port) {
      error = "the port must be a number from 1 to 65535";
      return false;
    }
    endpoint.port = *port;
  }
  return true;
}

bool parse_credentials(std::string_view text, RedisEndpoint& endpoint, std::string& error) {
  const size_t colon = text.find(':');
  std::optional<std::string> user = percent_decoded(text.substr(0, colon));
  std::optional<std::string> password =
      colon == std::string_view::npos ? std::optional<std::string>("") : percent_decoded(text.substr(colon + 1));
  if (!user || !password) {
    error = "bad %-escape in the credentials";
    return false;
  }
  if (colon == std::string_view::npos) {
    // "redis://secret@host": like redis-cli, a lone value is the password.
    endpoint.password = std::move(*user);
  } else {
    endpoint.user = std::move(*user);
    endpoint.password = std::move(*password);
  }
  return true;
}

}  // namespace

std::string RedisEndpoint::describe() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::optional<RedisEndpoint> parse_redis_url(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "must start with redis://";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    if (!parse_credentials(authority.substr(0, at), endpoint, error)) return std::nullopt;
    authority = authority.substr(at + 1);
  }
  if (!parse_host_port(authority, endpoint, error)) return std::nullopt;
  if (!path.empty()) {
    auto db = parse_number<uint32_t>(path);
    if (!db) {
      error = "the database after '/' must be a number";
      return std::nullopt;
    }
    endpoint.db = *db;
  }
  return endpoint;
}

void RedisReplyDeleter::operator()(redisReply* reply) const {
  if (reply != nullptr) freeReplyObject(reply);
}

std::string reply_text(const redisReply* reply) {
  if (reply == nullptr) return {};
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS ||
      reply->type == REDIS_REPLY_ERROR) {
    return std::string(reply->str, reply->len);
  }
  if (reply->type == REDIS_REPLY_INTEGER) return std::to_string(reply->integer);
  return {};
}

bool reply_is_nil(const redisReply* reply) { return reply == nullptr || reply->type == REDIS_REPLY_NIL; }

RedisConnection::RedisConnection(RedisEndpoint endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {}

RedisConnection::~RedisConnection() { disconnect(); }

void RedisConnection::disconnect() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
  script_shas_.clear();  // a new server may not know them
}

void RedisConnection::fail(const std::string& what) {
  std::string detail = "redis " + endpoint_.describe() + ": " + what;
  if (context_ != nullptr && context_->err != 0) detail += " (" + std::string(context_->errstr) + ")";
  disconnect();
  throw RedisError(detail);
}

void RedisConnection::connect() {
  const timeval tv = to_timeval(timeout_);
  context_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv);
  if (context_ == nullptr) throw RedisError("redis " + endpoint_.describe() + ": out of memory");
  if (context_->err != 0) fail("cannot connect");
  if (redisSetTimeout(context_, tv) != REDIS_OK) fail("cannot set the timeout");
  if (!endpoint_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!endpoint_.user.empty()) auth.push_back(endpoint_.user);
    auth.push_back(endpoint_.password);
    RedisReplyPtr reply = send(auth);
    // The server's own words ("WRONGPASS ...") never contain the password.
    if (reply->type == REDIS_REPLY_ERROR) fail("authentication refused: " + reply_text(reply.get()));
  }
  if (endpoint_.db != 0) {
    RedisReplyPtr reply = send({"SELECT", std::to_string(endpoint_.db)});
    if (reply->type == REDIS_REPLY_ERROR) fail("SELECT refused: " + reply_text(reply.get()));
  }
}

RedisReplyPtr RedisConnection::send(const std::vector<std::string>& arguments) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(arguments.size());
  lengths.reserve(arguments.size());
  for (const std::string& argument : arguments) {
    argv.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  void* raw = redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (raw == nullptr) fail("no answer");
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

// An idle connection has nothing to read; if it has (EOF after a server
// restart, or an error) it is replaced before use, so a restarted Redis costs
// no failed call.
void RedisConnection::ensure_connected() {
  if (context_ != nullptr) {
    pollfd entry{context_->fd, POLLIN, 0};
    if (::poll(&entry, 1, 0) != 0) disconnect();
  }
  if (context_ == nullptr) connect();
}

RedisReplyPtr RedisConnection::command(const std::vector<std::string>& arguments) {
  ensure_connected();
  RedisReplyPtr reply = send(arguments);
  if (reply->type == REDIS_REPLY_ERROR) {
    throw RedisError("redis " + endpoint_.describe() + ": " + reply_text(reply.get()));
  }
  return reply;
}

RedisReplyPtr RedisConnection::eval(const RedisScript& script, const std::vector<std::string>& keys,
                                    const std::vector<std::string>& arguments) {
  ensure_connected();
  auto known = std::find_if(script_shas_.begin(), script_shas_.end(),
                            [&](const auto& entry) { return entry.first == &script; });
  if (known == script_shas_.end()) {
    RedisReplyPtr loaded = command({"SCRIPT", "LOAD", script.source});
    script_shas_.emplace_back(&script, reply_text(loaded.get()));
    known = std::prev(script_shas_.end());
  }
  std::vector<std::string> call = {"EVALSHA", known->second, std::to_string(keys.size())};
  call.insert(call.end(), keys.begin(), keys.end());
  call.insert(call.end(), arguments.begin(), arguments.end());
  RedisReplyPtr reply = send(call);
  if (reply->type == REDIS_REPLY_ERROR && reply_text(reply.get()).rfind("NOSCRIPT", 0) == 0) {
    call[0] = "EVAL";
    call[1] = script.source;
    reply = send(call);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    throw RedisError("redis " + endpoint_.describe() + ": script failed: " + reply_text(reply.get()));
  }
  return reply;
}

}  // namespace cppbx::location
