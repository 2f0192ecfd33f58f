// See http_api.hpp. Impl's members are declared in dependency order and so
// destroyed in reverse: the io thread is joined first (no handler runs any
// more), then the pools (their pending answers post into the stopped
// io_context and are dropped with it), then the HTTP client, stores and
// databases, and the io_context last.
#include "http_api/http_api.hpp"

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "http_api/api_context.hpp"
#include "http_api/dispatcher.hpp"
#include "http_api/http_server.hpp"
#include "storage/database.hpp"

namespace cppbx::http_api {
namespace {

Response pool_error(std::string why) { return Response::error(503, why); }

BlockingPoolOptions pool_options(std::string name, size_t threads, size_t max_in_flight,
                                 std::chrono::milliseconds timeout) {
  BlockingPoolOptions options;
  options.name = std::move(name);
  options.threads = threads;
  options.max_in_flight = max_in_flight;
  options.timeout = timeout;
  return options;
}

}  // namespace

// Where the extension backend reads (its own database_url when set), so the
// API's changes land where phones are looked up; else the main database.
std::string extension_database_url(const config::Config& config) {
  for (const auto& backend : config.proxy.user_backends) {
    if (backend.type != "extension") continue;
    if (auto own = backend.table["database_url"].value<std::string>(); own && !own->empty()) return *own;
    break;
  }
  return config.database_url;
}

struct HttpApi::Impl {
  boost::asio::io_context io{1};
  std::unique_ptr<storage::Database> main_database;
  std::unique_ptr<storage::AdminStore> admins;
  std::unique_ptr<LazyExtensionStore> extensions;
  SessionStore sessions;
  LoginThrottle throttle;
  std::shared_ptr<http::HttpClient> http_client;
  Router router;
  std::unique_ptr<ApiContext> context;
  std::unique_ptr<Dispatcher> dispatcher;
  std::shared_ptr<HttpServer> server;
  std::shared_ptr<HttpServer> https_server;  // null without https_addr
  // Two threads each: argon2id takes 64 MiB per running check, so at most
  // 128 MiB, and a slow Test never holds up a login.
  ResponsePool store_pool{pool_options("http api store", 2, 64, std::chrono::seconds(10)), pool_error};
  ResponsePool test_pool{pool_options("http api test", 2, 8, std::chrono::seconds(30)), pool_error};
  // One Apply at a time; its waits add up to about 95 s at the worst.
  ResponsePool apply_pool{pool_options("http api apply", 1, 4, std::chrono::seconds(150)), pool_error};
  std::thread thread;

  ~Impl() {
    if (context) context->stopping = true;
    for (const auto& listener : {server, https_server}) {
      if (listener) boost::asio::post(io, [listener] { listener->stop(); });
    }
    io.stop();
    if (thread.joinable()) thread.join();
  }

  bool open_stores(const HttpApiEnvironment& environment, std::string& error);
  void start_https(const config::Config& config);
  void add_routes();
};

bool HttpApi::Impl::open_stores(const HttpApiEnvironment& environment, std::string& error) {
  storage::Database::Options options;
  options.pool_size = 2;
  main_database = storage::Database::open(environment.config.database_url, options, error);
  if (!main_database) return false;
  admins = std::make_unique<storage::AdminStore>(*main_database, environment.admin_hash_cost);
  extensions = std::make_unique<LazyExtensionStore>(extension_database_url(environment.config),
                                                    environment.config.database_url, main_database.get());
  return true;
}

// HTTPS is an addition: when it cannot start, the error is logged and the
// API stays on http_addr.
void HttpApi::Impl::start_https(const config::Config& config) {
  if (config.https_addr.empty()) return;
  const std::string& certificate = config.ssl_certificate.empty() ? config.proxy.ssl_certificate : config.ssl_certificate;
  const std::string& key = config.ssl_private_key.empty() ? config.proxy.ssl_private_key : config.ssl_private_key;
  std::string error;
  auto endpoint = parse_listen_address(config.https_addr, error);
  auto tls = endpoint ? make_tls_context(certificate, key, error) : nullptr;
  if (!tls) {
    spdlog::error("http api: https not started: {}", error);
    return;
  }
  try {
    https_server = std::make_shared<HttpServer>(io, *endpoint, *dispatcher, HttpServerOptions{}, tls);
  } catch (const boost::system::system_error& e) {
    spdlog::error("http api: https not started: cannot listen on {}: {}", config.https_addr, e.code().message());
    return;
  }
  https_server->start();
  spdlog::info("http api: listening on https {}", config.https_addr);
}

void HttpApi::Impl::add_routes() {
  add_auth_routes(router, *context);
  add_dashboard_routes(router, *context);
  add_extension_routes(router, *context);
  add_registration_routes(router, *context);
  add_settings_routes(router, *context);
  add_settings_test_routes(router, *context);
}

std::unique_ptr<HttpApi> HttpApi::start(HttpApiEnvironment environment, std::string& error) {
  auto impl = std::make_unique<Impl>();
  auto endpoint = parse_listen_address(environment.config.http_addr, error);
  if (!endpoint) return nullptr;
  if (!impl->open_stores(environment, error)) return nullptr;
  http::HttpClientOptions client_options;
  client_options.name = "http api client";
  client_options.max_in_flight = 16;
  impl->http_client = http::HttpClient::create(client_options, &error);
  if (!impl->http_client) return nullptr;
  impl->context.reset(new ApiContext{std::move(environment), impl->io, std::chrono::system_clock::now(),
                                     impl->sessions, impl->throttle, *impl->admins, *impl->extensions,
                                     impl->store_pool, impl->test_pool, impl->http_client});
  impl->context->apply_pool = &impl->apply_pool;
  impl->context->set_config(impl->context->environment.config);
  impl->add_routes();
  impl->dispatcher = std::make_unique<Dispatcher>(impl->router, impl->sessions,
                                                   impl->context->config()->console.base_path);
  try {
    HttpServerOptions options;
    options.websocket_path = impl->context->config()->proxy.ws_handler;
    options.websocket = impl->context->environment.websocket;
    impl->server = std::make_shared<HttpServer>(impl->io, *endpoint, *impl->dispatcher, options);
  } catch (const boost::system::system_error& e) {
    error = "cannot listen on " + impl->context->config()->http_addr + ": " + e.code().message();
    return nullptr;
  }
  impl->server->start();
  impl->start_https(*impl->context->config());
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    auto guard = boost::asio::make_work_guard(raw->io);
    raw->io.run();
  });
  const int64_t admins = impl->admins->count();
  spdlog::info("http api: listening on {} ({} administrators{})", impl->context->config()->http_addr,
               admins, admins == 0 ? "; create one with --super-username/--super-password" : "");
  return std::unique_ptr<HttpApi>(new HttpApi(std::move(impl)));
}

HttpApi::HttpApi(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpApi::~HttpApi() = default;

void HttpApi::set_config(config::Config config) { impl_->context->set_config(std::move(config)); }

uint16_t HttpApi::port() const { return impl_->server ? impl_->server->port() : 0; }
uint16_t HttpApi::https_port() const { return impl_->https_server ? impl_->https_server->port() : 0; }

std::vector<std::pair<std::string, std::string>> HttpApi::routes() const {
  std::vector<std::pair<std::string, std::string>> list;
  for (const auto& route : impl_->router.routes()) list.emplace_back(route.method, route.pattern);
  return list;
}

}  // namespace cppbx::http_api
