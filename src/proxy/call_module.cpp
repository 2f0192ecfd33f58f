#include "proxy/call_module.hpp"

#include <spdlog/spdlog.h>

#include "location/aor.hpp"
#include "sip/builder.hpp"
#include "sip/headers.hpp"

namespace cppbx::proxy {
namespace {

constexpr std::chrono::seconds kSweepInterval{10};

bool creates_dialog_or_stands_alone(sip::Method method) {
  switch (method) {
    case sip::Method::Invite:
    case sip::Method::Message:
    case sip::Method::Subscribe:
    case sip::Method::Refer:
    case sip::Method::Options:
    case sip::Method::Notify:
    case sip::Method::Publish:
      return true;
    default:
      return false;
  }
}

// "udp:192.0.2.1:5060", "tcp:[::1]:5070" (transport::Peer::to_string).
std::optional<transport::Peer> peer_of_binding(const location::Binding& binding) {
  std::string_view text = binding.destination;
  size_t colon = text.find(':');
  size_t last = text.rfind(':');
  if (colon == std::string_view::npos || last == colon) return std::nullopt;
  auto address = call::host_address(text.substr(colon + 1, last - colon - 1));
  auto port = sip::parse_uint32(text.substr(last + 1));
  if (!address || !port || *port > 65535) return std::nullopt;
  return transport::Peer{binding.transport, *address, static_cast<uint16_t>(*port), binding.connection};
}

// The user part of an AoR key "sip:user@domain".
std::string user_of_aor(const std::string& aor) {
  size_t colon = aor.find(':');
  size_t at = aor.rfind('@');
  if (colon == std::string::npos || at == std::string::npos || at < colon) return {};
  return aor.substr(colon + 1, at - colon - 1);
}

}  // namespace

CallModuleOptions CallModuleOptions::from(const config::ProxyConfig& config) {
  CallModuleOptions options;
  options.ensure_user = config.ensure_user;
  options.cluster_secret = config.cluster_secret;
  options.timer_c = std::chrono::seconds(config.no_answer_timeout);
  if (config.session_timer) options.records.default_session_interval = std::chrono::seconds(config.session_expires);
  options.records.max_duration = std::chrono::seconds(config.max_call_duration);
  return options;
}

struct CallModule::Shared : std::enable_shared_from_this<CallModule::Shared> {
  std::shared_ptr<users::UserBackend> users;
  std::shared_ptr<location::Locator> locator;
  std::shared_ptr<const ServerIdentity> identity;
  CallModuleOptions options;
  std::shared_ptr<call::CallTracker> tracker;
  call::DialogRouteSigner signer;
  std::optional<call::DialogRouteSigner> cluster;  // with proxy.cluster_secret
  call::ForkRegistry registry;
  std::optional<CallNetwork> network;
  std::shared_ptr<call::ForkEnvironment> environment;
  std::unique_ptr<boost::asio::steady_timer> sweeper;

  Shared(std::shared_ptr<users::UserBackend> u, std::shared_ptr<location::Locator> l,
         std::shared_ptr<const ServerIdentity> i, CallModuleOptions o)
      : users(std::move(u)),
        locator(std::move(l)),
        identity(std::move(i)),
        options(std::move(o)),
        tracker(std::make_shared<call::CallTracker>(nullptr, options.records)),
        signer(options.route_secret) {
    if (!options.cluster_secret.empty()) cluster.emplace(options.cluster_secret);
  }

  void refuse(const RequestContext& context, int code, std::string_view reason = {}) const {
    context.transaction->respond({.code = code, .reason = reason});
  }
  void unavailable(const RequestContext& context) const {
    std::string retry = std::to_string(options.retry_after_seconds);
    context.transaction->respond({.code = 503, .headers = {{"Retry-After", retry}}});
  }

  // Counts the top Route values naming this proxy; sets `foreign` when a
  // value after them names another hop, and `route` to the first of ours
  // whose token verifies.
  size_t own_routes(const sip::Message& request, bool& foreign, std::optional<call::DialogRoute>* route) const {
    size_t count = 0;
    foreign = false;
    for (std::string_view value : request.values(sip::HeaderId::Route)) {
      auto entry = sip::parse_name_addr(value);
      if (!entry || !network->addresses.is_own(entry->uri)) {
        foreign = true;
        break;
      }
      ++count;
      if (route && !*route) *route = signer.verify(request.call_id(), entry->uri);
    }
    return count;
  }

  void handle_initial(const RequestContextPtr& context) {
    const sip::Message& request = context->request();
    if (!creates_dialog_or_stands_alone(request.method())) return refuse(*context, 481);
    if (!context->authenticated_user) return refuse(*context, 403, "Forbidden: not authenticated");
    bool foreign = false;
    size_t own = own_routes(request, foreign, nullptr);
    if (foreign) return refuse(*context, 403, "Relaying Forbidden");
    const users::SipUser& caller = *context->authenticated_user;
    if (caller.allow_guest_calls) return route_to_callee(context, own);
    std::string caller_aor = location::aor_key(caller.username, request.from().uri.host);
    auto self = shared_from_this();
    locator->lookup(caller_aor, [self, context, own](location::LookupResult found) {
      if (!found.ok) return self->unavailable(*context);
      if (found.bindings.empty()) return self->refuse(*context, 403, "Caller Not Registered");
      self->route_to_callee(context, own);
    });
  }

  void route_to_callee(const RequestContextPtr& context, size_t own) {
    std::string callee = location::aor_key(context->request().request_uri());
    auto self = shared_from_this();
    locator->lookup(callee, [self, context, own, callee](location::LookupResult found) {
      if (!found.ok) return self->unavailable(*context);
      std::vector<call::Target> targets = self->targets_of(found.bindings, context->request().call_id());
      if (!targets.empty()) return self->fork(context, std::move(targets), own);
      self->answer_without_binding(context, callee);
    });
  }

  std::vector<call::Target> targets_of(const std::vector<location::Binding>& bindings,
                                       std::string_view call_id) const {
    std::vector<call::Target> targets;
    for (const auto& binding : bindings) {
      auto flow = peer_of_binding(binding);
      if (!flow) continue;
      bool elsewhere = !binding.home_proxy.empty() && !home_proxy().empty() && binding.home_proxy != home_proxy();
      if (!elsewhere) {
        targets.push_back({binding.contact, binding.path, *flow, binding.contact});
        continue;
      }
      if (auto relayed = through_home_node(binding, *flow, call_id)) {
        targets.push_back(std::move(*relayed));
      } else {
        spdlog::info("call: binding {} of {} is held by {}; no cluster_secret to reach it", binding.contact,
                     binding.aor, binding.home_proxy);
      }
    }
    return targets;
  }

  // A binding held by another node: sent to that node's SIP address with a
  // signed Route naming the binding's flow there.
  std::optional<call::Target> through_home_node(const location::Binding& binding, const transport::Peer& flow,
                                                std::string_view call_id) const {
    if (!cluster) return std::nullopt;
    auto home = sip::parse_uri(binding.home_proxy);
    if (!home) return std::nullopt;
    auto address = call::host_address(home->host);
    if (!address) return std::nullopt;
    transport::Peer node{transport::Protocol::Udp, *address, home->port != 0 ? home->port : uint16_t{5060}, 0};
    call::Target target;
    target.request_uri = binding.contact;
    target.routes.push_back("<" + binding.home_proxy + ";" +
                            cluster->relay_parameters(call_id, flow, binding.contact) + ">");
    for (const auto& path : binding.path) target.routes.push_back(path);
    target.flow = node;
    target.contact = binding.contact;
    return target;
  }

  // The flow a relayed request names, when its top Route is ours and signed
  // with the cluster secret.
  std::optional<transport::Peer> relayed_flow(const sip::Message& request) const {
    if (!cluster || !network) return std::nullopt;
    auto routes = request.values(sip::HeaderId::Route);
    if (routes.empty()) return std::nullopt;
    auto top = sip::parse_name_addr(routes.front());
    if (!top || !network->addresses.is_own(top->uri)) return std::nullopt;
    return cluster->verify_relay(request.call_id(), top->uri, request.request_uri_text());
  }

  // On the home node: a request another node relayed goes to the flow it
  // names, recorded for the dialog like any call.
  void handle_relayed(const RequestContextPtr& context, const transport::Peer& flow) {
    const sip::Message& request = context->request();
    call::Target target;
    target.flow = flow;
    target.contact = std::string(request.request_uri_text());
    call::Fork::Options fork_options;
    fork_options.own_routes = 1;
    fork_options.record_route = request.method() == sip::Method::Invite ||
                                request.method() == sip::Method::Subscribe ||
                                request.method() == sip::Method::Refer;
    auto fork = std::make_shared<call::Fork>(environment, context->transaction, std::move(fork_options));
    fork->start({std::move(target)});
  }

  const std::string& home_proxy() const { return network->home_proxy; }

  // No binding: 480 for a user that exists, 404 otherwise.
  void answer_without_binding(const RequestContextPtr& context, const std::string& callee) {
    users::LookupRequest lookup{user_of_aor(callee), context->realm};
    if (lookup.realm.empty()) lookup.realm = identity->realm_for(context->request().request_uri().host);
    auto self = shared_from_this();
    users->lookup(lookup, [self, context](users::LookupResult result) {
      switch (result.outcome) {
        case users::LookupOutcome::Found:
        case users::LookupOutcome::Denied:
          return self->refuse(*context, 480);
        case users::LookupOutcome::NotFound:
          if (self->options.ensure_user) return context->transaction->drop();
          return self->refuse(*context, 404);
        case users::LookupOutcome::Error:
          return self->unavailable(*context);
      }
    });
  }

  void fork(const RequestContextPtr& context, std::vector<call::Target> targets, size_t own) {
    const sip::Message& request = context->request();
    call::Fork::Options fork_options;
    fork_options.own_routes = own;
    fork_options.record_route = request.method() != sip::Method::Message &&
                                request.method() != sip::Method::Options &&
                                request.method() != sip::Method::Publish;
    if (request.method() == sip::Method::Invite) {
      fork_options.observer = tracker->begin(request, context->peer());
    }
    auto fork = std::make_shared<call::Fork>(environment, context->transaction, std::move(fork_options));
    fork->start(std::move(targets));
  }

  void handle_in_dialog(const RequestContextPtr& context) {
    const sip::Message& request = context->request();
    bool foreign = false;
    std::optional<call::DialogRoute> route;
    size_t own = own_routes(request, foreign, &route);
    if (!route) return refuse(*context, 481);
    tracker->on_in_dialog_request(request);
    call::Target target;
    target.flow = route->toward(request.from().tag());
    call::Fork::Options fork_options;
    fork_options.own_routes = own;
    auto fork = std::make_shared<call::Fork>(environment, context->transaction, std::move(fork_options));
    fork->start({std::move(target)});
  }

  // ACK for a 2xx: forwarded statelessly along the dialog's route.
  void forward_ack(const sip::Message& ack) {
    bool foreign = false;
    std::optional<call::DialogRoute> route;
    size_t own = own_routes(ack, foreign, &route);
    if (!route) return;  // not a dialog of ours: dropped, as ACKs get no answer
    const transport::Peer& flow = route->toward(ack.from().tag());
    sip::MessageEditor editor(ack);
    for (size_t i = 0; i < own; ++i) editor.remove_first_value(sip::HeaderId::Route);
    int max_forwards = ack.max_forwards();
    if (max_forwards == 0) return;
    editor.set_max_forwards(max_forwards < 0 ? 70 : max_forwards - 1);
    editor.insert_before_first(sip::HeaderId::Via, "Via",
                               network->addresses.via(flow.protocol, transaction::new_branch()));
    network->transport.send(flow, editor.serialize());
  }

  // A 2xx retransmission (or a 2xx of another fork branch after the client
  // transaction ended): forwarded by its next Via (16.7 step 5, 16.11).
  void forward_response(const sip::Message& response) {
    if (response.status_code() < 200 || response.status_code() >= 300) return;
    if (response.cseq().method != "INVITE") return;
    const sip::Via& ours = response.top_via();
    if (!network->addresses.is_local_host(ours.host)) return;
    auto vias = response.values(sip::HeaderId::Via);
    if (vias.size() < 2) return;
    auto next = sip::parse_via(vias[1]);
    if (!next) return;
    auto peer = call::response_peer_from_via(*next);
    if (!peer) return;
    sip::MessageEditor editor(response);
    editor.remove_first_value(sip::HeaderId::Via);
    network->transport.send(*peer, editor.serialize());
  }

  void sweep_later() {
    sweeper->expires_after(kSweepInterval);
    std::weak_ptr<Shared> weak = weak_from_this();
    sweeper->async_wait([weak](const boost::system::error_code& error) {
      if (error) return;
      if (auto self = weak.lock()) {
        self->tracker->sweep();
        self->sweep_later();
      }
    });
  }
};

CallModule::CallModule(std::shared_ptr<users::UserBackend> users, std::shared_ptr<location::Locator> locator,
                       std::shared_ptr<const ServerIdentity> identity, CallModuleOptions options)
    : shared_(std::make_shared<Shared>(std::move(users), std::move(locator), std::move(identity),
                                       std::move(options))) {}

CallModule::~CallModule() {
  if (shared_->sweeper) shared_->sweeper->cancel();
}

void CallModule::attach(CallNetwork network) {
  shared_->network.emplace(std::move(network));
  CallNetwork& attached = *shared_->network;
  shared_->tracker = std::make_shared<call::CallTracker>(attached.records, shared_->options.records);
  shared_->environment = std::make_shared<call::ForkEnvironment>(call::ForkEnvironment{
      attached.transactions, shared_->registry, attached.io, attached.addresses, shared_->signer,
      shared_->options.timer_c});
  shared_->sweeper = std::make_unique<boost::asio::steady_timer>(attached.io);
  shared_->sweep_later();
}

void CallModule::handle(RequestContextPtr context, Next next) {
  const sip::Message& request = context->request();
  const sip::Method method = request.method();
  if (!shared_->network || method == sip::Method::Register || method == sip::Method::Ack ||
      method == sip::Method::Cancel) {
    return next(std::move(context));
  }
  if (!request.to().tag().empty()) return shared_->handle_in_dialog(context);
  if (auto flow = shared_->relayed_flow(request)) return shared_->handle_relayed(context, *flow);
  bool for_user = context->for_local_domain && !request.request_uri().user.empty();
  if (!for_user) return next(std::move(context));
  shared_->handle_initial(context);
}

void CallModule::on_stray(transport::Inbound&& inbound) {
  if (!shared_->network || !inbound.parsed.message) return;
  const sip::Message& message = *inbound.parsed.message;
  if (message.is_request()) {
    if (message.method() == sip::Method::Ack) shared_->forward_ack(message);
  } else {
    shared_->forward_response(message);
  }
}

void CallModule::on_cancel(const transaction::ServerTransactionPtr& invite) {
  if (auto fork = shared_->registry.find(invite.get())) fork->cancel_by_caller();
}

bool CallModule::is_trusted_relay(const sip::Message& request) const {
  return request.to().tag().empty() && shared_->relayed_flow(request).has_value();
}

size_t CallModule::active_calls() const { return shared_->tracker->active_calls(); }

}  // namespace cppbx::proxy
