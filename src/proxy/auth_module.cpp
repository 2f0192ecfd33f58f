// See auth_module.hpp for the behaviour. The lookup callback may run on a
// backend's worker thread: it owns everything it touches (the request context,
// next(), and a shared_ptr to the authenticator), and answers through the
// thread-safe ServerTransaction::respond().
#include "proxy/auth_module.hpp"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>

#include "sip/headers.hpp"

namespace cppbx::proxy {

struct AuthModule::Shared {
  Shared(std::shared_ptr<users::UserBackend> users_in,
         std::shared_ptr<const ServerIdentity> identity_in,
         auth::DigestAuthenticator::Options options, auth::SecondsClock clock, bool ensure)
      : users(std::move(users_in)), identity(std::move(identity_in)),
        authenticator(std::move(options), std::move(clock)), ensure_user(ensure) {}
  std::shared_ptr<users::UserBackend> users;
  std::shared_ptr<const ServerIdentity> identity;
  auth::DigestAuthenticator authenticator;
  bool ensure_user = false;
};

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

auth::DigestAuthenticator::Options authenticator_options(const config::ProxyConfig& config,
                                                         std::string secret) {
  auth::DigestAuthenticator::Options options;
  options.algorithms.clear();
  for (const std::string& name : config.auth_algorithms) {
    auto algorithm = auth::parse_algorithm(name);
    if (!algorithm) {
      spdlog::warn("auth: unknown digest algorithm '{}' in proxy.auth_algorithms ignored", name);
    } else if (std::find(options.algorithms.begin(), options.algorithms.end(), *algorithm) ==
               options.algorithms.end()) {
      options.algorithms.push_back(*algorithm);
    }
  }
  options.nonce_lifetime = std::chrono::seconds(config.nonce_lifetime_seconds);
  options.secret = std::move(secret);
  return options;
}

std::string_view realm_host(const sip::Message& request) {
  if (request.method() == sip::Method::Register && !request.to().uri.host.empty()) {
    return request.to().uri.host;
  }
  return request.request_uri().host;
}

// The Digest credentials for `realm` in the headers with `id`, if any.
std::optional<auth::DigestCredentials> find_credentials(const sip::Message& request,
                                                        sip::HeaderId id, std::string_view realm) {
  for (const sip::Header& header : request.headers()) {
    if (header.id != id) continue;
    auto params = sip::parse_auth_params(header.value);
    if (!params || !iequals(params->scheme, "Digest") || params->get("realm") != realm) continue;
    auth::DigestCredentials c;
    c.username = params->get("username").value_or("");
    c.realm = realm;
    c.nonce = params->get("nonce").value_or("");
    c.uri = params->get("uri").value_or("");
    c.response = params->get("response").value_or("");
    c.algorithm = params->get("algorithm").value_or("");
    c.cnonce = params->get("cnonce").value_or("");
    c.nc = params->get("nc").value_or("");
    c.qop = params->get("qop").value_or("");
    c.opaque = params->get("opaque").value_or("");
    return c;
  }
  return std::nullopt;
}

// One request being authenticated; shared with the lookup callback.
struct Attempt {
  RequestContextPtr context;
  Next next;
  std::shared_ptr<AuthModule::Shared> shared;
  auth::DigestCredentials credentials;
  auth::Precheck checked;

  const sip::Message& request() const { return context->request(); }
  bool is_register() const { return request().method() == sip::Method::Register; }

  void log(std::string_view outcome, std::string_view reason) const {
    spdlog::info("auth {}: user={} realm={} method={} source={} reason={}", outcome,
                 credentials.username, context->realm, request().method_text(),
                 context->peer().to_string(), reason);
  }

  void challenge(bool stale, std::optional<auth::DigestAlgorithm> only = std::nullopt) const {
    std::vector<std::string> values =
        shared->authenticator.challenges(context->realm, stale, only);
    std::string_view header = is_register() ? "WWW-Authenticate" : "Proxy-Authenticate";
    sip::ResponseSpec spec;
    spec.code = is_register() ? 401 : 407;
    spec.headers.reserve(values.size());
    for (const std::string& value : values) spec.headers.emplace_back(header, value);
    context->transaction->respond(spec);
  }

  void respond(int code, std::string_view reason = {}) const {
    sip::ResponseSpec spec;
    spec.code = code;
    spec.reason = reason;
    context->transaction->respond(spec);
  }

  // Unknown user and wrong password look the same from outside.
  void refuse_credentials(std::string_view reason) const {
    if (shared->ensure_user) {
      log("dropped", reason);
      context->transaction->drop();
      return;
    }
    log("refused", reason);
    respond(403);
  }

  void on_lookup(users::LookupResult result);
  void on_user(users::SipUser user);
};

void Attempt::on_lookup(users::LookupResult result) {
  switch (result.outcome) {
    case users::LookupOutcome::Found:
      if (!users::realm_matches(result.user.realm, context->realm)) {
        refuse_credentials("user belongs to another realm");
        return;
      }
      on_user(std::move(result.user));
      return;
    case users::LookupOutcome::NotFound:
      refuse_credentials("unknown user");
      return;
    case users::LookupOutcome::Denied: {
      int code = result.sip_code >= 400 && result.sip_code <= 699 ? result.sip_code : 403;
      log("denied", result.detail.empty() ? std::string_view("denied by backend") : result.detail);
      respond(code);
      return;
    }
    case users::LookupOutcome::Error: {
      log("unavailable", result.detail);
      std::string retry_after = std::to_string(AuthModule::kRetryAfterSeconds);
      sip::ResponseSpec spec;
      spec.code = 503;
      spec.headers.emplace_back("Retry-After", retry_after);
      context->transaction->respond(spec);
      return;
    }
  }
}

void Attempt::on_user(users::SipUser user) {
  auth::UserSecret secret{user.password, user.ha1_md5 ? std::string_view(*user.ha1_md5) : ""};
  auth::Verdict verdict =
      shared->authenticator.verify(credentials, request().method_text(), secret, checked);
  switch (verdict) {
    case auth::Verdict::Ok:
      if (!user.enabled) {
        log("refused", "user disabled");
        respond(403);
        return;
      }
      log("accepted", "credentials verified");
      context->authenticated_user = std::move(user);
      next(context);
      return;
    case auth::Verdict::Stale:
    case auth::Verdict::InvalidNonce:
    case auth::Verdict::Replay:
      log("re-challenged", auth::verdict_name(verdict));
      challenge(true);
      return;
    case auth::Verdict::CannotVerify:
      log("re-challenged", "only an MD5 HA1 is stored: offering MD5");
      challenge(false, auth::DigestAlgorithm::Md5);
      return;
    case auth::Verdict::WrongResponse:
      refuse_credentials("wrong password");
      return;
    case auth::Verdict::Malformed:
    case auth::Verdict::UnsupportedAlgorithm:
    case auth::Verdict::UnsupportedQop:
      // precheck() already sorted these out; answer as if it had.
      refuse_credentials(auth::verdict_name(verdict));
      return;
  }
}

}  // namespace

AuthModule::AuthModule(std::shared_ptr<users::UserBackend> users,
                       std::shared_ptr<const ServerIdentity> identity,
                       const config::ProxyConfig& config, std::string server_secret,
                       auth::SecondsClock clock)
    : shared_(std::make_shared<Shared>(std::move(users), std::move(identity),
                                       authenticator_options(config, std::move(server_secret)),
                                       std::move(clock), config.ensure_user)) {}

bool AuthModule::needs_authentication(const sip::Message& request) {
  switch (request.method()) {
    case sip::Method::Ack:
    case sip::Method::Cancel:
      return false;
    case sip::Method::Options:
      return !request.request_uri().user.empty();
    default:
      return true;
  }
}

void AuthModule::handle(RequestContextPtr context, Next next) {
  const sip::Message& request = context->request();
  if (!needs_authentication(request)) {
    next(std::move(context));
    return;
  }
  context->realm = shared_->identity->realm_for(realm_host(request));
  auto attempt = std::make_shared<Attempt>();
  attempt->context = std::move(context);
  attempt->next = std::move(next);
  attempt->shared = shared_;

  sip::HeaderId header = request.method() == sip::Method::Register
                             ? sip::HeaderId::Authorization
                             : sip::HeaderId::ProxyAuthorization;
  auto credentials = find_credentials(request, header, attempt->context->realm);
  if (!credentials) {
    spdlog::debug("auth challenge: realm={} method={} source={}", attempt->context->realm,
                  request.method_text(), attempt->context->peer().to_string());
    attempt->challenge(false);
    return;
  }
  attempt->credentials = *credentials;
  attempt->checked = shared_->authenticator.precheck(attempt->credentials);
  switch (attempt->checked.verdict) {
    case auth::Verdict::Ok:
      break;
    case auth::Verdict::UnsupportedAlgorithm:
    case auth::Verdict::UnsupportedQop:
      attempt->log("re-challenged", auth::verdict_name(attempt->checked.verdict));
      attempt->challenge(false);
      return;
    default:
      attempt->log("rejected", auth::verdict_name(attempt->checked.verdict));
      attempt->respond(400, "Malformed Authorization");
      return;
  }
  users::LookupRequest lookup{std::string(attempt->credentials.username), attempt->context->realm};
  shared_->users->lookup(lookup, [attempt](users::LookupResult result) {
    attempt->on_lookup(std::move(result));
  });
}

}  // namespace cppbx::proxy
