// Wiring, start-up order and shutdown order. Start: locator and user
// backends first (they may fail on bad configuration), then the transaction
// layer, and the sockets last so no request arrives before its handlers
// exist. Stop: refuse new requests, let transactions in flight finish for a
// short grace period, then close sockets and stop the I/O threads.
//
// Threads: one io_context (`io`) run by the main thread carries timers, TCP,
// signals and the locator. UDP has `io_threads` SO_REUSEPORT sockets, each
// with its own receiver thread (owned by the transport) blocked in recvfrom
// and handling the datagram inline: no epoll_wait per datagram, and no
// thread wakes another (a shared io_context made the reactor thread wake a
// second thread through a futex for nearly every datagram).
//
// Settings that change while running (realms, user backends, locator,
// webhook: the console's Apply and SIGHUP) sit behind indirections wired once
// here (SwappableBackend, ServerIdentity's realms, SwappableLocator,
// WebhookRelay); SettingsApplier swaps what is behind them. A SIGHUP reload
// blocks (it builds and probes), so it runs on its own one-thread pool, not
// on `io`.
#include "app/server.hpp"

#include <algorithm>
#include <csignal>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include "app/module_factory.hpp"
#include "app/network_addresses.hpp"
#include "app/settings_applier.hpp"
#include "app/swappable_backend.hpp"
#include "app/swappable_locator.hpp"
#include "app/webhook_relay.hpp"
#include "app/locator_factory.hpp"
#include "location/locator_webhook.hpp"
#include "call/call_tracker.hpp"
#include "http_api/http_api.hpp"
#include "proxy/call_module.hpp"
#include "proxy/proxy_core.hpp"
#include "proxy/registrar_module.hpp"
#include "storage/database.hpp"
#include "transaction/transaction_layer.hpp"
#include "transport/transport.hpp"
#include "users/backend_chain.hpp"

namespace cppbx::app {
namespace {

constexpr std::chrono::milliseconds kShutdownGrace{2000};

size_t io_thread_count(const config::ProxyConfig& proxy) {
  if (proxy.io_threads > 0) return proxy.io_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Logs offline bindings (expired or flow closed).
class OfflineLogger final : public location::LocationObserver {
 public:
  void on_offline(const std::vector<location::Binding>& bindings) override {
    for (const auto& binding : bindings) {
      spdlog::info("offline aor={} contact={} destination={}", binding.aor, binding.contact,
                   binding.destination);
    }
  }
};

// The locator has one observer: this passes offline bindings to several.
class OfflineFanOut final : public location::LocationObserver {
 public:
  explicit OfflineFanOut(std::vector<std::shared_ptr<location::LocationObserver>> observers)
      : observers_(std::move(observers)) {}
  void on_offline(const std::vector<location::Binding>& bindings) override {
    for (const auto& observer : observers_) observer->on_offline(bindings);
  }

 private:
  std::vector<std::shared_ptr<location::LocationObserver>> observers_;
};

std::shared_ptr<proxy::RegistrarModule> find_registrar(const std::vector<std::shared_ptr<proxy::Module>>& modules) {
  for (const auto& module : modules) {
    if (auto registrar = std::dynamic_pointer_cast<proxy::RegistrarModule>(module)) return registrar;
  }
  return nullptr;
}

std::shared_ptr<proxy::CallModule> find_call_module(const std::vector<std::shared_ptr<proxy::Module>>& modules) {
  for (const auto& module : modules) {
    if (auto call = std::dynamic_pointer_cast<proxy::CallModule>(module)) return call;
  }
  return nullptr;
}

}  // namespace

struct Server::Impl {
  config::Config config;
  size_t thread_count;
  boost::asio::io_context io;
  boost::asio::signal_set signals{io};
  std::unique_ptr<storage::Database> database;
  std::shared_ptr<SwappableLocator> locator;
  std::shared_ptr<WebhookRelay> webhook;  // holds null without [proxy.locator_webhook]
  std::shared_ptr<SwappableBackend> users;
  std::shared_ptr<proxy::ServerIdentity> identity;
  std::unique_ptr<transport::TransportLayer> transport;
  std::unique_ptr<transaction::TransactionLayer> transactions;
  std::unique_ptr<proxy::ProxyCore> core;
  std::shared_ptr<proxy::CallModule> calls;  // null without the call module
  std::unique_ptr<SettingsApplier> settings;
  // Declared after `settings`, whose apply() its threads call: destroyed first.
  // Null when http_addr cannot be served. The mutex lets an Apply finishing
  // on the API's own thread publish while shutdown takes the API away.
  std::mutex http_api_mutex;
  std::unique_ptr<http_api::HttpApi> http_api;
  bool stopping = false;
  boost::asio::thread_pool reload_pool{1};  // SIGHUP reloads; declared last: joined first

  explicit Impl(config::Config cfg)
      : config(std::move(cfg)), thread_count(io_thread_count(config.proxy)), io(1) {}

  void start();
  void watch_signals();
  void on_signal(int signal_number);
  void reload_settings();
  void stop_gracefully();
  std::shared_ptr<proxy::ServerIdentity> make_identity() const;
  std::string home_proxy() const;
  void start_webhook(const std::vector<std::shared_ptr<proxy::Module>>& modules);
  void attach_call_module();
  void start_settings();
  void start_http_api();
  void stop_http_api();
};

// The SIP address other nodes reach this one at, stored with each binding
// (shared locators): the external address when configured, else the bound
// address, else the first interface address.
std::string Server::Impl::home_proxy() const {
  std::string host = config.external_ip;
  if (host.empty() && config.proxy.addr != "0.0.0.0" && config.proxy.addr != "::") {
    host = config.proxy.addr;
  }
  if (host.empty()) {
    auto addresses = interface_addresses();
    auto usable = std::find_if(addresses.begin(), addresses.end(), [](const std::string& a) {
      return a != "127.0.0.1" && a != "::1" && a.find(':') == std::string::npos;
    });
    host = usable != addresses.end() ? *usable : "127.0.0.1";
  }
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "sip:" + host + ":" + std::to_string(config.proxy.udp_port);
}

void Server::Impl::start() {
  database = std::make_unique<storage::Database>(config.database_url);

  config::Diagnostics diagnostics;
  auto configured_locator = make_locator(config.proxy.locator, {io, config.database_url, home_proxy()}, diagnostics);
  if (!configured_locator) throw std::runtime_error(diagnostics.all().front().to_string());
  for (const auto& warning : diagnostics.all()) spdlog::warn("{}", warning.to_string());
  diagnostics = {};
  locator = std::make_shared<SwappableLocator>(std::move(configured_locator));

  users = std::make_shared<SwappableBackend>(build_user_backends(config, diagnostics));
  if (diagnostics.has_errors()) {
    throw std::runtime_error(diagnostics.all().front().to_string());
  }

  identity = make_identity();
  auto modules = build_modules(config, identity, users, locator, diagnostics);
  if (diagnostics.has_errors()) {
    throw std::runtime_error(diagnostics.all().front().to_string());
  }
  start_webhook(modules);
  locator->start();
  calls = find_call_module(modules);
  core = std::make_unique<proxy::ProxyCore>(identity, std::move(modules));

  transport::TransportLayer::Options transport_options;
  transport_options.address = config.proxy.addr;
  transport_options.udp_port = config.proxy.udp_port;
  transport_options.tcp_port = config.proxy.tcp_port;
  transport_options.udp_sockets = thread_count;
  transport_options.udp_blocking_receivers = true;
  transport_options.tcp_idle_timeout = std::chrono::seconds(config.proxy.tcp_idle_timeout_seconds);
  transport_options.limits.max_message_size = config.proxy.max_message_size;
  transport_options.tls_port = config.proxy.tls_port;
  transport_options.ws_port = config.proxy.ws_port;
  transport_options.ws_handler = config.proxy.ws_handler;
  transport_options.certificate_file = config.proxy.ssl_certificate;
  transport_options.private_key_file = config.proxy.ssl_private_key;
  transport = transport::make_transport_layer(io, transport_options);

  transaction::TransactionLayer::Options transaction_options;
  transaction_options.server_header = config.proxy.useragent;
  transaction_options.max_transactions = std::max<size_t>(config.proxy.max_concurrency, 1);
  transactions = transaction::make_transaction_layer(io, *transport, transaction_options);
  transactions->set_request_handler(
      [this](transaction::ServerTransactionPtr transaction) { core->on_request(transaction); });
  transactions->set_stray_handler([this](transport::Inbound&& inbound) {
    // ACKs for 2xx and responses no client transaction matches.
    if (calls) calls->on_stray(std::move(inbound));
  });
  transactions->set_cancel_handler([this](transaction::ServerTransactionPtr invite) {
    if (calls) calls->on_cancel(invite);
  });
  attach_call_module();
  transport->set_inbound_handler(
      [this](transport::Inbound&& inbound) { transactions->on_inbound(std::move(inbound)); });
  transport->set_closed_handler([this](const transport::Peer& peer) {
    if (peer.connection != 0) locator->connection_closed(peer.connection);
  });
  transport->start();
  watch_signals();
  start_settings();
  start_http_api();

  spdlog::info("cppbx listening: udp {}:{} tcp {}:{} ({} I/O threads)", config.proxy.addr,
               transport->udp_port(), config.proxy.addr, transport->tcp_port(), thread_count);
  if (config.proxy.tls_port) spdlog::info("cppbx listening: tls {}:{}", config.proxy.addr, transport->tls_port());
  if (config.proxy.ws_port) {
    spdlog::info("cppbx listening: {} {}:{} path {}", config.proxy.ssl_certificate.empty() ? "ws" : "ws and wss",
                 config.proxy.addr, transport->ws_port(), config.proxy.ws_handler);
  }
}

// The call module sends through the transaction and transport layers, which
// exist only after the modules were built.
void Server::Impl::attach_call_module() {
  if (!calls) return;
  std::string host = home_proxy().substr(4);  // "sip:host:port"
  host = host.substr(0, host.rfind(':'));
  call::LocalAddresses addresses;
  addresses.host = host;
  addresses.port_for = [this](transport::Protocol protocol) -> uint16_t {
    switch (protocol) {
      case transport::Protocol::Udp: return transport->udp_port();
      case transport::Protocol::Tcp: return transport->tcp_port();
      case transport::Protocol::Tls: return config.proxy.tls_port.value_or(0);
      case transport::Protocol::Ws:
      case transport::Protocol::Wss: return config.proxy.ws_port.value_or(0);
    }
    return 0;
  };
  addresses.is_local_host = [shared_identity = identity](std::string_view host_text) {
    return shared_identity->names_this_server(host_text);
  };
  calls->attach({*transactions, *transport, io, std::move(addresses), home_proxy(),
                 call::make_database_call_record_sink(*database)});
}

// The webhook hears REGISTER outcomes from the registrar module and offline
// bindings from the locator (next to the offline log lines), through a
// relay that Apply can point at another webhook (or none).
void Server::Impl::start_webhook(const std::vector<std::shared_ptr<proxy::Module>>& modules) {
  std::shared_ptr<location::LocatorWebhook> configured;
  if (config.proxy.locator_webhook) {
    std::string error;
    configured = location::LocatorWebhook::create(webhook_options(*config.proxy.locator_webhook, home_proxy()), &error);
    if (!configured) throw std::runtime_error("proxy.locator_webhook: " + error);
    spdlog::info("locator webhook: events to {}", http::url_for_logs(config.proxy.locator_webhook->url));
  }
  webhook = std::make_shared<WebhookRelay>(std::move(configured));
  if (auto registrar = find_registrar(modules)) {
    registrar->set_observer(webhook);
  } else if (config.proxy.locator_webhook) {
    spdlog::warn("proxy.locator_webhook: no registrar module, so only offline events are sent");
  }
  locator->set_observer(std::make_shared<OfflineFanOut>(
      std::vector<std::shared_ptr<location::LocationObserver>>{std::make_shared<OfflineLogger>(), webhook}));
}

// Apply and SIGHUP share one SettingsApplier; it tells the HTTP API what runs.
void Server::Impl::start_settings() {
  SettingsTargets targets{io, config.database_url, home_proxy(), users, identity, locator, webhook,
                          [this](const config::Config& running) {
                            std::lock_guard lock(http_api_mutex);
                            if (http_api) http_api->set_config(running);
                          }};
  settings = std::make_unique<SettingsApplier>(std::move(targets), config);
}

// The console's API on its own thread; it cannot stop SIP from starting.
void Server::Impl::start_http_api() {
  http_api::HttpApiEnvironment environment;
  environment.config = settings->running();
  environment.locator = locator;
  environment.webhook = [relay = webhook] { return relay->current(); };
  environment.user_backend_health = [users = users] {
    auto chain = std::dynamic_pointer_cast<users::BackendChain>(users->current());
    return chain ? chain->health() : std::vector<users::BackendHealth>{};
  };
  environment.home_proxy = home_proxy();
  environment.websocket = transport->websocket_handover();
  environment.apply_settings = [this](config::Config proposed) {
    return settings->apply(std::move(proposed), true);
  };
  environment.make_locator = [database_url = config.database_url, home = home_proxy()](
                                 const config::LocatorConfig& c, boost::asio::io_context& api_io,
                                 config::Diagnostics& d) { return make_locator(c, {api_io, database_url, home}, d); };
  std::string error;
  auto started = http_api::HttpApi::start(std::move(environment), error);
  if (!started) spdlog::error("http api: not started: {}", error);
  std::lock_guard lock(http_api_mutex);
  http_api = std::move(started);
}

std::shared_ptr<proxy::ServerIdentity> Server::Impl::make_identity() const {
  std::vector<std::string> own = interface_addresses();
  if (config.proxy.addr != "0.0.0.0" && config.proxy.addr != "::") own.push_back(config.proxy.addr);
  if (!config.external_ip.empty()) own.push_back(config.external_ip);
  return std::make_shared<proxy::ServerIdentity>(config.proxy.realms, std::move(own),
                                                 config.proxy.useragent);
}

void Server::Impl::watch_signals() {
  signals.add(SIGTERM);
  signals.add(SIGINT);
  signals.add(SIGHUP);
  signals.async_wait([this](const boost::system::error_code& error, int signal_number) {
    if (error) return;
    on_signal(signal_number);
  });
}

void Server::Impl::on_signal(int signal_number) {
  if (signal_number == SIGHUP) {
    boost::asio::post(reload_pool, [this] { reload_settings(); });
  } else if (!stopping) {
    spdlog::info("signal {}: stopping (grace {} ms)", signal_number, kShutdownGrace.count());
    stop_gracefully();
  }
  signals.async_wait([this](const boost::system::error_code& error, int next_signal) {
    if (error) return;
    on_signal(next_signal);
  });
}

// The main file and the console's settings file read again; the four
// settings apply live (SettingsApplier), other keys need a restart. The
// embedded default has no file: its user backends are rebuilt as they are
// (plain files re-read) and a settings file, when present, applied over them.
void Server::Impl::reload_settings() {
  config::Diagnostics diagnostics;
  config::Config fresh;
  if (config.source_file.empty()) {
    fresh = settings->running();
    config::apply_overlay_file(fresh, diagnostics);
  } else {
    fresh = config::load_file_with_overlay(config.source_file, diagnostics);
  }
  if (diagnostics.has_errors()) {
    for (const auto& diagnostic : diagnostics.all()) spdlog::error("{}", diagnostic.to_string());
    spdlog::error("SIGHUP: configuration has errors, settings unchanged");
    return;
  }
  auto result = settings->apply(std::move(fresh), false);
  for (const auto& warning : result.warnings) spdlog::warn("SIGHUP: {}", warning);
  if (result.outcome != http_api::SettingsApplyResult::Outcome::Applied) {
    for (const auto& problem : result.problems) spdlog::error("SIGHUP: {}: {}", problem.key, problem.message);
    spdlog::error("SIGHUP: {}, settings unchanged", result.error);
    return;
  }
  spdlog::info("SIGHUP: settings reloaded from {} ({} user backends)",
               config.source_file.empty() ? std::string("the embedded default") : config.source_file,
               result.applied.proxy.user_backends.size());
}

void Server::Impl::stop_gracefully() {
  stopping = true;
  transactions->shutdown(kShutdownGrace, [this] {
    boost::asio::post(io, [this] {
      stop_http_api();
      transport->stop();
      settings->retire_now();
      locator->stop();
      if (auto current = webhook->current()) {
        auto s = current->stats();
        spdlog::info("locator webhook: {} sent, {} retried, {} failed, {} dropped, {} pending", s.sent,
                     s.retried, s.failed, s.dropped, s.queued + s.in_flight);
      }
      signals.cancel();
      io.stop();
    });
  });
}

// Destroying the API joins its threads, and an Apply running on one of them
// ends by publishing to the API: so it is taken out under the mutex and
// destroyed outside it, and that Apply finds no API to publish to.
void Server::Impl::stop_http_api() {
  std::unique_ptr<http_api::HttpApi> stopping_api;
  {
    std::lock_guard lock(http_api_mutex);
    stopping_api = std::move(http_api);
  }
  stopping_api.reset();
}

Server::Server(config::Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Server::~Server() = default;

void Server::start() { impl_->start(); }

int Server::run() {
  impl_->io.run();
  spdlog::info("cppbx stopped");
  return 0;
}

}  // namespace cppbx::app
