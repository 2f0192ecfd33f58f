// The entry point for every new request: the checks RFC 3261 asks of any
// element before its own logic (Max-Forwards, Require/Proxy-Require), the
// answer to OPTIONS addressed to the server itself, and then the configured
// module pipeline (acl, auth, registrar, call) in order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/module.hpp"
#include "proxy/server_identity.hpp"

namespace cppbx::proxy {

class ProxyCore {
 public:
  ProxyCore(std::shared_ptr<const ServerIdentity> identity,
            std::vector<std::shared_ptr<Module>> modules);

  // Called by the transaction layer for each new server transaction.
  void on_request(const transaction::ServerTransactionPtr& transaction);

  // Option tags this server understands in Require (RFC 3261 8.2.2.3).
  static const std::vector<std::string>& supported_option_tags();
  static std::string_view allowed_methods();

 private:
  bool answered_by_core(RequestContext& context) const;
  void run_module(size_t index, RequestContextPtr context);
  void end_of_pipeline(RequestContext& context) const;

  std::shared_ptr<const ServerIdentity> identity_;
  std::vector<std::shared_ptr<Module>> modules_;
};

// True when the request is addressed to this server itself rather than to a
// user (no user part in a local Request-URI).
bool is_addressed_to_server(const sip::Message& request, const ServerIdentity& identity);

}  // namespace cppbx::proxy
