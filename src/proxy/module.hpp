// The request pipeline. Each configured module (`proxy.modules`: acl, auth,
// registrar, call) sees a new request in order and either answers it through
// the server transaction or passes it on with next(). A module may pass it on
// later from another thread (after an asynchronous user or location lookup);
// it must call next() or answer, exactly once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "transaction/transaction_layer.hpp"
#include "users/user_backend.hpp"

namespace cppbx::proxy {

struct RequestContext {
  transaction::ServerTransactionPtr transaction;
  const sip::Message& request() const { return transaction->request(); }
  const transport::Peer& peer() const { return transaction->peer(); }

  // True when the Request-URI names this server or one of its realms.
  bool for_local_domain = false;
  // Set by the auth module once credentials were verified.
  std::optional<users::SipUser> authenticated_user;
  std::string realm;
};
using RequestContextPtr = std::shared_ptr<RequestContext>;
using Next = std::function<void(RequestContextPtr)>;

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
  virtual void handle(RequestContextPtr context, Next next) = 0;
};

}  // namespace cppbx::proxy
