// Module names map to constructors here, in one place, so adding a module is
// one line. The server secret for digest nonces is random per process: nonces
// outlive neither a restart nor their lifetime, and a phone holding an old
// nonce is simply re-challenged with stale=true.
#include "app/module_factory.hpp"

#include <spdlog/spdlog.h>

#include "common/random.hpp"
#include "proxy/acl_module.hpp"
#include "proxy/auth_module.hpp"
#include "proxy/call_module.hpp"
#include "proxy/registrar_module.hpp"
#include "users/backend_factory.hpp"

namespace cppbx::app {

std::shared_ptr<users::UserBackend> build_user_backends(const config::Config& config,
                                                        config::Diagnostics& diagnostics) {
  return users::make_backend_chain(config.proxy.user_backends, diagnostics);
}

std::vector<proxy::AclRule> build_acl_rules(const config::Config& config,
                                            config::Diagnostics& diagnostics) {
  std::vector<proxy::AclRule> rules;
  for (size_t i = 0; i < config.proxy.acl_rules.size(); ++i) {
    std::string error;
    auto rule = proxy::parse_acl_rule(config.proxy.acl_rules[i], error);
    if (rule) {
      rules.push_back(*rule);
    } else {
      diagnostics.error({config.source_file, 0, 0}, "proxy.acl_rules[" + std::to_string(i) + "]",
                        error);
    }
  }
  return rules;
}

namespace {

// A call another node relayed was authenticated there: the auth module lets
// it through when the call module verifies its cluster signature.
void trust_relayed_calls(const std::vector<std::shared_ptr<proxy::Module>>& modules) {
  std::shared_ptr<proxy::AuthModule> auth;
  std::shared_ptr<proxy::CallModule> call;
  for (const auto& module : modules) {
    if (auto found = std::dynamic_pointer_cast<proxy::AuthModule>(module)) auth = found;
    if (auto found = std::dynamic_pointer_cast<proxy::CallModule>(module)) call = found;
  }
  if (!auth || !call) return;
  std::weak_ptr<proxy::CallModule> weak = call;
  auth->set_trusted_request_check([weak](const sip::Message& request) {
    auto module = weak.lock();
    return module && module->is_trusted_relay(request);
  });
}

}  // namespace

std::vector<std::shared_ptr<proxy::Module>> build_modules(
    const config::Config& config, std::shared_ptr<const proxy::ServerIdentity> identity,
    std::shared_ptr<users::UserBackend> users, std::shared_ptr<location::Locator> locator,
    config::Diagnostics& diagnostics) {
  std::vector<std::shared_ptr<proxy::Module>> modules;
  for (const auto& name : config.proxy.modules) {
    if (name == "acl") {
      modules.push_back(std::make_shared<proxy::AclModule>(
          build_acl_rules(config, diagnostics), config.proxy.ua_black_list,
          config.proxy.ua_white_list));
    } else if (name == "auth") {
      modules.push_back(std::make_shared<proxy::AuthModule>(users, identity, config.proxy,
                                                            random::hex(32)));
    } else if (name == "registrar") {
      modules.push_back(std::make_shared<proxy::RegistrarModule>(
          locator, identity, proxy::RegistrarOptions::from(config.proxy)));
    } else if (name == "call") {
      modules.push_back(std::make_shared<proxy::CallModule>(users, locator, identity,
                                                            proxy::CallModuleOptions::from(config.proxy)));
    }
    // Other names (addons) are reported by the config layer.
  }
  trust_relayed_calls(modules);
  return modules;
}

}  // namespace cppbx::app
