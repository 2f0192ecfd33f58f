// Module "auth": digest authentication of requests (RFC 3261 22, RFC 7616,
// RFC 8760) against the user backend chain.
//
// Which requests: every request except ACK and CANCEL (they cannot be
// challenged, RFC 3261 22.1), OPTIONS whose Request-URI has no user part
// (a keep-alive or capability query to the server itself), and requests
// inside a dialog (a To tag; REGISTER excepted), which the call module routes
// only along the signed Record-Route of a call whose INVITE was
// authenticated (see call/dialog_route.hpp).
//
// Decisions (where the RFCs leave a choice):
// - Realm: the To domain for REGISTER (falling back to the Request-URI), the
//   Request-URI domain otherwise, mapped through ServerIdentity::realm_for().
// - REGISTER is challenged with 401 / WWW-Authenticate and answered with
//   Authorization; other requests with 407 / Proxy-Authenticate and
//   Proxy-Authorization. One challenge header per configured algorithm.
// - Credentials are only looked for in the header that matches, and only a
//   Digest credential for our realm counts; anything else means "no
//   credentials" and gets a challenge. The user is never looked up before
//   credentials are presented, so a challenge says nothing about who exists.
// - Wrong password and unknown user (or a user of another realm) both get
//   403 with the same reason, so the wire does not tell them apart; with
//   ensure_user the server stays silent for both (transaction dropped).
// - Stale nonce, a nonce we did not issue (e.g. from before a restart) and a
//   replayed nonce count are re-challenged with stale=true, but only when the
//   response was right for that nonce (the client then retries with a fresh
//   nonce without asking its user); otherwise it is a wrong password. A
//   replay is re-challenged rather than refused because the attacker cannot
//   answer the new challenge, while a legitimate client that lost count can.
// - A disabled user gets 403 even with the right password (and with
//   ensure_user too: the credentials were right, the account is off).
// - Denied by a backend: its code (402/403). Backend error: 503 with
//   Retry-After, never 403, so an outage does not look like a bad password.
// - Malformed credentials (missing fields, bad nc) get 400; an algorithm or
//   qop we do not offer gets a new challenge listing what we offer.
// - A user whose backend stores only an MD5 HA1 but who answered with
//   another algorithm is re-challenged with MD5 alone.
// - Per-client offer (only when the configured offer has MD5 and something
//   else): a client whose User-Agent is in proxy.auth_md5_only_user_agents,
//   or that auth::Md5Fallback remembers as unable to answer a full offer
//   (proxy.auth_md5_fallback), is challenged with MD5 alone. Softphones such
//   as baresip 1.x abort on any non-MD5 challenge, even next to an MD5 one.
//   The decision uses only the source address, Call-ID, From user, method
//   and User-Agent, never a user lookup, so it says nothing about users.
//   Narrowing is logged at info with its reason.
// - A credential without `algorithm` is MD5 (RFC 7616 3.4); the nonce is
//   shared by all algorithms of one challenge, so it answers any of them.
// Every outcome is logged at info with user, realm, source and reason; never
// a password, HA1 or response hash.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "auth/digest_authenticator.hpp"
#include "config/config.hpp"
#include "proxy/module.hpp"
#include "proxy/server_identity.hpp"
#include "users/user_backend.hpp"

namespace cppbx::proxy {

class AuthModule final : public Module {
 public:
  // Unknown names in config.auth_algorithms are skipped with a warning (the
  // config layer reports them); none left means SHA-256 then MD5.
  AuthModule(std::shared_ptr<users::UserBackend> users,
             std::shared_ptr<const ServerIdentity> identity, const config::ProxyConfig& config,
             std::string server_secret, auth::SecondsClock clock = auth::system_seconds);

  std::string_view name() const override { return "auth"; }
  void handle(RequestContextPtr context, Next next) override;

  // The request methods this module leaves alone (see the top of the file).
  static bool needs_authentication(const sip::Message& request);

  // Requests for which `trusted` returns true pass without a challenge: a
  // call another node relayed after authenticating it (CallModule). Set
  // before the first request.
  void set_trusted_request_check(std::function<bool(const sip::Message&)> trusted);

  static constexpr int kRetryAfterSeconds = 5;

  // What lookup callbacks need; outlives the module if it must. Opaque.
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace cppbx::proxy
