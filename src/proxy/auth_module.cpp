// See auth_module.hpp for the behaviour. The lookup callback may run on a
// backend's worker thread: it owns everything it touches (the request context,
// next(), and a shared_ptr to the authenticator), and answers through the
// thread-safe ServerTransaction::respond().
//
// HA1-only users and scanners: a user whose backend stores only an MD5 HA1
// is re-challenged with MD5 when it answers SHA-256. If unknown users got 403
// there instead, that re-challenge would tell a scanner the name exists. So
// whenever the chain may hold such users (a database backend with an
// ha1_column), every SHA-256 answer that cannot be accepted (unknown user,
// user of another realm, wrong password, HA1-only user) gets the same MD5
// re-challenge; the MD5 answer then decides, and its refusals all look alike.
#include "proxy/auth_module.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/md5_fallback.hpp"
#include "auth/user_agent_list.hpp"
#include "common/log_throttle.hpp"
#include "common/strings.hpp"
#include "sip/headers.hpp"

namespace cppbx::proxy {

namespace {

// RFC 2617 3.2.2.5 / RFC 7616 3.4.6: the digest-uri must name the request's
// target, or a response captured for one URI could be replayed at another.
// Compared as URIs (scheme, user, host case-insensitively, port), not as
// text, because phones differ in parameters and escaping.
bool digest_uri_matches(std::string_view digest_uri, const sip::Uri& request_uri) {
  auto uri = sip::parse_uri(digest_uri);
  if (!uri || uri->scheme != request_uri.scheme) return false;
  return uri->user == request_uri.user && iequals(uri->host, request_uri.host) &&
         uri->port == request_uri.port;
}

// Only the database backend returns users with an HA1 and no password, and
// only when it has an ha1_column.
bool may_hold_ha1_only_users(const config::ProxyConfig& config) {
  for (const auto& backend : config.user_backends) {
    if (backend.type != "database") continue;
    auto column = backend.table["ha1_column"].value<std::string>();
    if (column && !column->empty()) return true;
  }
  return false;
}

bool offers_md5_and_more(const std::vector<auth::DigestAlgorithm>& algorithms) {
  bool md5 = std::find(algorithms.begin(), algorithms.end(), auth::DigestAlgorithm::Md5) !=
             algorithms.end();
  return md5 && algorithms.size() > 1;
}

}  // namespace

struct AuthModule::Shared {
  std::function<bool(const sip::Message&)> trusted;
  Shared(std::shared_ptr<users::UserBackend> users_in,
         std::shared_ptr<const ServerIdentity> identity_in,
         auth::DigestAuthenticator::Options options, auth::SecondsClock clock,
         const config::ProxyConfig& config)
      : users(std::move(users_in)), identity(std::move(identity_in)),
        authenticator(std::move(options), clock), ensure_user(config.ensure_user),
        can_narrow(offers_md5_and_more(authenticator.algorithms())),
        md5_only_user_agents(config.auth_md5_only_user_agents),
        ha1_only_users(may_hold_ha1_only_users(config)) {
    if (can_narrow && config.auth_md5_fallback) {
      fallback = std::make_unique<auth::Md5Fallback>(auth::Md5Fallback::Options{}, clock);
    }
  }
  std::shared_ptr<users::UserBackend> users;
  std::shared_ptr<const ServerIdentity> identity;
  auth::DigestAuthenticator authenticator;
  bool ensure_user = false;
  // Narrowing to MD5 needs MD5 in the offer and something else to drop.
  bool can_narrow = false;
  auth::UserAgentList md5_only_user_agents;
  std::unique_ptr<auth::Md5Fallback> fallback;  // null: adaptive fallback off
  // Failed non-MD5 answers are re-challenged with MD5 (see the file top).
  bool ha1_only_users = false;
  // An outage fails every request: one warning per interval, not per request.
  log::Throttle unavailable_warnings;
};

namespace {

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

// Points the credential field named `name` at `value` (the first occurrence
// wins, as a search would find it). One pass over the parameters instead of
// a search per field: every authenticated request comes through here.
void assign_credential(auth::DigestCredentials& c, std::string_view name, std::string_view value) {
  struct Field {
    std::string_view name;
    std::string_view auth::DigestCredentials::*member;
  };
  static constexpr Field kFields[] = {
      {"username", &auth::DigestCredentials::username},
      {"nonce", &auth::DigestCredentials::nonce},
      {"uri", &auth::DigestCredentials::uri},
      {"response", &auth::DigestCredentials::response},
      {"algorithm", &auth::DigestCredentials::algorithm},
      {"cnonce", &auth::DigestCredentials::cnonce},
      {"nc", &auth::DigestCredentials::nc},
      {"qop", &auth::DigestCredentials::qop},
      {"opaque", &auth::DigestCredentials::opaque},
  };
  for (const Field& field : kFields) {
    if (field.name.size() == name.size() && iequals(field.name, name)) {
      if ((c.*field.member).data() == nullptr) c.*field.member = value;
      return;
    }
  }
}

// The Digest credentials for `realm` in the headers with `id`, if any.
std::optional<auth::DigestCredentials> find_credentials(const sip::Message& request,
                                                        sip::HeaderId id, std::string_view realm) {
  for (const sip::Header& header : request.headers()) {
    if (header.id != id) continue;
    auto params = sip::parse_auth_params(header.value);
    if (!params || !iequals(params->scheme, "Digest")) continue;
    auth::DigestCredentials c;
    std::optional<std::string_view> realm_seen;
    for (const auto& [name, value] : params->params) {
      if (name.size() == 5 && iequals(name, "realm")) {
        if (!realm_seen) realm_seen = value;
      } else {
        assign_credential(c, name, value);
      }
    }
    if (realm_seen != realm) continue;
    c.realm = realm;
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
  std::string source_address;
  // This request's challenges offer MD5 alone, and why (for the log).
  bool md5_only = false;
  bool offer_decided = false;
  std::string narrowed_because;

  const sip::Message& request() const { return context->request(); }
  bool is_register() const { return request().method() == sip::Method::Register; }

  auth::ClientIdentity client() const {
    auth::ClientIdentity identity{source_address, request().call_id(),
                                  request().from().uri.user, request().method_text(), {}, 0};
    const std::vector<sip::Contact>& contacts = request().contacts();
    if (!contacts.empty() && !contacts.front().star) {
      identity.contact_host = contacts.front().address.uri.host;
      identity.contact_port = contacts.front().address.uri.port;
    }
    return identity;
  }
  // Log lines are built only when info is on: the peer's text costs more
  // than the rest of a challenge's bookkeeping.
  void log_narrowed(std::string_view reason) const {
    if (!spdlog::should_log(spdlog::level::info)) return;
    spdlog::info("auth offer narrowed to MD5: realm={} method={} source={} reason={}",
                 context->realm, request().method_text(), context->peer().to_string(), reason);
  }
  // The offer for this client, from what the request says and what the
  // fallback remembers, never from the user; see the header.
  void decide_offer(bool without_credentials);
  void challenge_offer(bool stale) {
    if (!offer_decided) decide_offer(false);
    if (!md5_only) return challenge(stale);
    log_narrowed(narrowed_because);
    challenge(stale, auth::DigestAlgorithm::Md5);
  }
  void narrow(std::string_view reason);
  void challenge_without_credentials();

  void log(std::string_view outcome, std::string_view reason) const {
    if (!spdlog::should_log(spdlog::level::info)) return;
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
    // Challenges keep no transaction state (see respond_statelessly).
    context->transaction->respond_statelessly(spec);
  }

  void respond(int code, std::string_view reason = {}) const {
    sip::ResponseSpec spec;
    spec.code = code;
    spec.reason = reason;
    context->transaction->respond(spec);
  }

  // Unknown user and wrong password look the same from outside, in time too:
  // a refusal without a password to check still computes a digest.
  void spend_digest_work() const {
    auth::HexDigest ha1 = auth::compute_ha1(checked.algorithm, credentials.username, context->realm,
                                            "not-a-password");
    auth::HexDigest response = auth::compute_response(
        checked.algorithm, {ha1, credentials.nonce, request().method_text(), credentials.uri,
                            credentials.qop, credentials.nc, credentials.cnonce});
    volatile char sink = response.empty() ? 0 : response[0];
    (void)sink;
  }

  void refuse_credentials(std::string_view reason) const {
    if (shared->ensure_user) {
      log("dropped", reason);
      context->transaction->drop();
      return;
    }
    log("refused", reason);
    respond(403);
  }

  // The re-challenge an HA1-only user gets for a non-MD5 answer.
  void rechallenge_md5(std::string_view reason) {
    log("re-challenged", reason);
    narrow("answered with an algorithm the stored HA1 cannot verify");
    if (md5_only) {
      challenge_offer(false);
    } else {
      challenge(false, auth::DigestAlgorithm::Md5);  // MD5-only configurations
    }
  }
  // A refusal that must look like an HA1-only user's re-challenge instead.
  bool disguise_as_ha1_user() const {
    return shared->ha1_only_users && checked.algorithm != auth::DigestAlgorithm::Md5;
  }

  void on_lookup(users::LookupResult result);
  void on_user(users::SipUser user);
};

void Attempt::decide_offer(bool without_credentials) {
  offer_decided = true;
  if (!shared->can_narrow || md5_only) return;
  const sip::Header* user_agent = request().find(sip::HeaderId::UserAgent);
  if (user_agent != nullptr) {
    if (auto entry = shared->md5_only_user_agents.match(user_agent->value)) {
      md5_only = true;
      narrowed_because = fmt::format("user agent matches '{}'", *entry);
      return;
    }
  }
  if (!shared->fallback) return;
  if (!without_credentials) {
    md5_only = shared->fallback->md5_only(client());
    if (md5_only) narrowed_because = auth::decision_name(auth::Md5Fallback::Decision::RememberedMd5Only);
    return;
  }
  auto decision = shared->fallback->before_challenge(client());
  if (decision == auth::Md5Fallback::Decision::FullOffer) return;
  md5_only = true;
  narrowed_because = auth::decision_name(decision);
}

void Attempt::narrow(std::string_view reason) {
  if (!shared->can_narrow) return;
  if (shared->fallback) shared->fallback->narrow(client());
  if (!md5_only) narrowed_because = reason;
  md5_only = true;
}

void Attempt::challenge_without_credentials() {
  decide_offer(true);
  if (spdlog::should_log(spdlog::level::info)) {
    spdlog::info("auth challenged: realm={} method={} source={} reason=no credentials",
                 context->realm, request().method_text(), context->peer().to_string());
  }
  if (!md5_only && shared->fallback) shared->fallback->challenged(client());
  challenge_offer(false);
}

void Attempt::on_lookup(users::LookupResult result) {
  switch (result.outcome) {
    case users::LookupOutcome::Found:
      if (!users::realm_matches(result.user.realm, context->realm)) {
        if (disguise_as_ha1_user()) return rechallenge_md5("user belongs to another realm");
        spend_digest_work();
        refuse_credentials("user belongs to another realm");
        return;
      }
      on_user(std::move(result.user));
      return;
    case users::LookupOutcome::NotFound:
      if (disguise_as_ha1_user()) return rechallenge_md5("unknown user");
      spend_digest_work();
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
      if (auto held_back = shared->unavailable_warnings.admit()) {
        spdlog::warn("auth: the user backends could not answer ({}); answering 503 with Retry-After"
                     " ({} more since the previous warning)",
                     result.detail, *held_back);
      }
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
      challenge_offer(true);
      return;
    case auth::Verdict::CannotVerify:
      rechallenge_md5("only an MD5 HA1 is stored: offering MD5");
      return;
    case auth::Verdict::WrongResponse:
      if (disguise_as_ha1_user()) return rechallenge_md5("wrong password");
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
                                       std::move(clock), config)) {}

bool AuthModule::needs_authentication(const sip::Message& request) {
  // In-dialog requests were authenticated with the request that created the
  // dialog; the call module accepts them only along its signed Record-Route.
  if (!request.to().tag().empty() && request.method() != sip::Method::Register) return false;
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

void AuthModule::set_trusted_request_check(std::function<bool(const sip::Message&)> trusted) {
  shared_->trusted = std::move(trusted);
}

void AuthModule::handle(RequestContextPtr context, Next next) {
  const sip::Message& request = context->request();
  if (!needs_authentication(request) || (shared_->trusted && shared_->trusted(request))) {
    next(std::move(context));
    return;
  }
  context->realm = shared_->identity->realm_for(realm_host(request));
  auto attempt = std::make_shared<Attempt>();
  attempt->context = std::move(context);
  attempt->next = std::move(next);
  attempt->shared = shared_;
  transport::append_address(attempt->source_address, attempt->context->peer().address);

  sip::HeaderId header = request.method() == sip::Method::Register
                             ? sip::HeaderId::Authorization
                             : sip::HeaderId::ProxyAuthorization;
  auto credentials = find_credentials(request, header, attempt->context->realm);
  if (!credentials) {
    attempt->challenge_without_credentials();
    return;
  }
  attempt->credentials = *credentials;
  attempt->checked = shared_->authenticator.precheck(attempt->credentials);
  switch (attempt->checked.verdict) {
    case auth::Verdict::Ok:
      // It answered an offered algorithm: whatever it was challenged with, it coped.
      if (shared_->fallback) shared_->fallback->answered(attempt->client());
      if (!digest_uri_matches(attempt->credentials.uri, request.request_uri())) {
        attempt->log("rejected", "digest uri does not match the Request-URI");
        attempt->respond(400, "Digest URI Mismatch");
        return;
      }
      break;
    case auth::Verdict::UnsupportedAlgorithm:
      attempt->log("re-challenged", auth::verdict_name(attempt->checked.verdict));
      attempt->narrow("answered with an algorithm we did not offer");
      attempt->challenge_offer(false);
      return;
    case auth::Verdict::UnsupportedQop:
      attempt->log("re-challenged", auth::verdict_name(attempt->checked.verdict));
      attempt->challenge_offer(false);
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
