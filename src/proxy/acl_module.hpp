// Module "acl": who may talk to this server at all. Source-address rules
// (`proxy.acl_rules`, first match wins, "allow all" when none) and
// User-Agent black/white lists. Refused requests get no answer, so scanners
// learn nothing and spend their time waiting.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "proxy/module.hpp"

namespace cppbx::proxy {

struct AclRule {
  bool allow = true;
  boost::asio::ip::address network;  // unspecified address with prefix 0 = "all"
  unsigned prefix_length = 0;
  bool matches(const boost::asio::ip::address& address) const;
};

// "allow all", "deny 10.0.0.0/8", "allow 192.0.2.7", "deny ::1/128".
// nullopt with `error` set when the rule cannot be read.
std::optional<AclRule> parse_acl_rule(std::string_view text, std::string& error);

class AclModule final : public Module {
 public:
  AclModule(std::vector<AclRule> rules, std::vector<std::string> ua_black_list,
            std::vector<std::string> ua_white_list);
  std::string_view name() const override { return "acl"; }
  void handle(RequestContextPtr context, Next next) override;

  bool address_allowed(const boost::asio::ip::address& address) const;
  bool user_agent_allowed(std::string_view user_agent) const;

 private:
  std::vector<AclRule> rules_;
  std::vector<std::string> ua_black_list_;  // lowercased
  std::vector<std::string> ua_white_list_;  // lowercased
};

}  // namespace cppbx::proxy
