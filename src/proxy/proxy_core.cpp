// Core request checks. These run before any module so that a malformed or
// looping request never reaches a user lookup. Order follows RFC 3261 16.3
// (request validation) for requests we would forward, and 8.2.2 for requests
// we answer as a UAS (REGISTER, OPTIONS to the server).
#include "proxy/proxy_core.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace cppbx::proxy {
namespace {

using cppbx::iequals;

// Option tags of `id` headers that are not in the supported list, joined
// with ", " (empty when all are understood).
std::string unsupported_tags(const sip::Message& request, sip::HeaderId id) {
  std::string unsupported;
  for (std::string_view tag : request.values(id)) {
    const auto& known = ProxyCore::supported_option_tags();
    bool understood = std::any_of(known.begin(), known.end(),
                                  [&](const std::string& k) { return iequals(k, tag); });
    if (understood || tag.empty()) continue;
    if (!unsupported.empty()) unsupported += ", ";
    unsupported += tag;
  }
  return unsupported;
}

bool answered_as_uas(const sip::Message& request, const ServerIdentity& identity) {
  return request.method() == sip::Method::Register || is_addressed_to_server(request, identity);
}

}  // namespace

bool is_addressed_to_server(const sip::Message& request, const ServerIdentity& identity) {
  const sip::Uri& uri = request.request_uri();
  return uri.user.empty() && uri.scheme != sip::UriScheme::Tel &&
         identity.is_local_domain(uri.host);
}

const std::vector<std::string>& ProxyCore::supported_option_tags() {
  // "path": RFC 3327, Path headers are stored with each binding.
  static const std::vector<std::string> tags = {"path"};
  return tags;
}

std::string_view ProxyCore::allowed_methods() { return "REGISTER, OPTIONS, ACK, CANCEL"; }

ProxyCore::ProxyCore(std::shared_ptr<const ServerIdentity> identity,
                     std::vector<std::shared_ptr<Module>> modules)
    : identity_(std::move(identity)), modules_(std::move(modules)) {}

void ProxyCore::on_request(const transaction::ServerTransactionPtr& transaction) {
  auto context = std::make_shared<RequestContext>();
  context->transaction = transaction;
  const sip::Message& request = transaction->request();
  context->for_local_domain = identity_->is_local_domain(request.request_uri().host);
  if (answered_by_core(*context)) return;
  run_module(0, std::move(context));
}

bool ProxyCore::answered_by_core(RequestContext& context) const {
  const sip::Message& request = context.request();
  auto& transaction = *context.transaction;
  const sip::Method method = request.method();
  if (method == sip::Method::Ack || method == sip::Method::Cancel) return false;

  const bool as_uas = answered_as_uas(request, *identity_);
  if (as_uas) {
    std::string unsupported = unsupported_tags(request, sip::HeaderId::Require);
    if (!unsupported.empty()) {
      transaction.respond({.code = 420, .headers = {{"Unsupported", unsupported}}});
      return true;
    }
  } else {
    if (request.max_forwards() == 0) {
      transaction.respond({.code = 483});
      return true;
    }
    std::string unsupported = unsupported_tags(request, sip::HeaderId::ProxyRequire);
    if (!unsupported.empty()) {
      transaction.respond({.code = 420, .headers = {{"Unsupported", unsupported}}});
      return true;
    }
  }

  if (method == sip::Method::Options && is_addressed_to_server(request, *identity_)) {
    transaction.respond({.code = 200,
                         .headers = {{"Allow", allowed_methods()},
                                     {"Accept", "application/sdp"},
                                     {"Supported", "path"}}});
    return true;
  }
  return false;
}

void ProxyCore::run_module(size_t index, RequestContextPtr context) {
  if (index == modules_.size()) {
    end_of_pipeline(*context);
    return;
  }
  modules_[index]->handle(std::move(context), [this, index](RequestContextPtr next_context) {
    run_module(index + 1, std::move(next_context));
  });
}

void ProxyCore::end_of_pipeline(RequestContext& context) const {
  auto& transaction = *context.transaction;
  const sip::Method method = context.request().method();
  if (method == sip::Method::Ack || transaction.completed()) return;
  if (method == sip::Method::Cancel) {
    // A CANCEL that matched no INVITE transaction.
    transaction.respond({.code = 481});
    return;
  }
  if (!context.for_local_domain) {
    transaction.respond({.code = 403, .reason = "Relaying Forbidden"});
    return;
  }
  // Requests for users need the call module, which this pipeline lacks.
  transaction.respond({.code = 405, .headers = {{"Allow", allowed_methods()}}});
}

}  // namespace cppbx::proxy
