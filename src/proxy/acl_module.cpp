// Address rules are matched as prefixes on the raw address bytes, so IPv4 and
// IPv6 share one code path; an IPv4-mapped IPv6 source is matched as IPv4.
// User-Agent lists match by case-insensitive substring because scanners vary
// the version part of their User-Agent ("friendly-scanner 1.x").
#include "proxy/acl_module.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <spdlog/spdlog.h>

#include "common/strings.hpp"

namespace cppbx::proxy {
namespace {

using cppbx::to_lower;

boost::asio::ip::address unmapped(const boost::asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

template <size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  unsigned prefix) {
  for (size_t i = 0; i < N && prefix > 0; ++i) {
    unsigned bits = std::min(prefix, 8u);
    unsigned char mask = static_cast<unsigned char>(0xFF << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

}  // namespace

bool AclRule::matches(const boost::asio::ip::address& raw) const {
  if (prefix_length == 0 && network.is_unspecified()) return true;
  const auto address = unmapped(raw);
  if (address.is_v4() && network.is_v4()) {
    return prefix_equal(address.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix_length);
  }
  if (address.is_v6() && network.is_v6()) {
    return prefix_equal(address.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix_length);
  }
  return false;
}

std::optional<AclRule> parse_acl_rule(std::string_view text, std::string& error) {
  auto space = text.find(' ');
  std::string action = to_lower(text.substr(0, space));
  std::string_view target = space == std::string_view::npos ? "" : text.substr(space + 1);
  while (!target.empty() && target.front() == ' ') target.remove_prefix(1);
  while (!target.empty() && target.back() == ' ') target.remove_suffix(1);

  AclRule rule;
  if (action == "allow") rule.allow = true;
  else if (action == "deny") rule.allow = false;
  else {
    error = "rule must start with allow or deny";
    return std::nullopt;
  }
  if (to_lower(target) == "all") return rule;

  auto slash = target.find('/');
  std::string host(target.substr(0, slash));
  boost::system::error_code ec;
  rule.network = boost::asio::ip::make_address(host, ec);
  if (ec) {
    error = "'" + host + "' is not an IP address";
    return std::nullopt;
  }
  const unsigned max_prefix = rule.network.is_v4() ? 32 : 128;
  rule.prefix_length = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view bits = target.substr(slash + 1);
    auto [end, ec2] = std::from_chars(bits.data(), bits.data() + bits.size(), rule.prefix_length);
    if (ec2 != std::errc{} || end != bits.data() + bits.size() || rule.prefix_length > max_prefix) {
      error = "bad prefix length '" + std::string(bits) + "'";
      return std::nullopt;
    }
  }
  return rule;
}

AclModule::AclModule(std::vector<AclRule> rules, std::vector<std::string> ua_black_list,
                     std::vector<std::string> ua_white_list)
    : rules_(std::move(rules)) {
  for (auto& ua : ua_black_list) ua_black_list_.push_back(to_lower(ua));
  for (auto& ua : ua_white_list) ua_white_list_.push_back(to_lower(ua));
}

bool AclModule::address_allowed(const boost::asio::ip::address& address) const {
  for (const auto& rule : rules_) {
    if (rule.matches(address)) return rule.allow;
  }
  return true;
}

bool AclModule::user_agent_allowed(std::string_view user_agent) const {
  const std::string ua = to_lower(user_agent);
  auto found_in = [&](const std::vector<std::string>& list) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& entry) { return ua.find(entry) != std::string::npos; });
  };
  if (found_in(ua_black_list_)) return false;
  return ua_white_list_.empty() || found_in(ua_white_list_);
}

void AclModule::handle(RequestContextPtr context, Next next) {
  const auto& peer = context->peer();
  if (!address_allowed(peer.address)) {
    spdlog::info("acl: refused {} from {}: address rule", context->request().method_text(),
                 peer.to_string());
    context->transaction->drop();
    return;
  }
  const sip::Header* user_agent = context->request().find(sip::HeaderId::UserAgent);
  if (!user_agent_allowed(user_agent ? user_agent->value : std::string_view{})) {
    spdlog::info("acl: refused {} from {}: user agent '{}'", context->request().method_text(),
                 peer.to_string(), user_agent ? user_agent->value : std::string_view{});
    context->transaction->drop();
    return;
  }
  next(std::move(context));
}

}  // namespace cppbx::proxy
