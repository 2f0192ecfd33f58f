#include "call/dialog_route.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>

#include "common/random.hpp"

namespace cppbx::call {
namespace {

constexpr char kSeparator = '~';

char protocol_letter(transport::Protocol protocol) {
  switch (protocol) {
    case transport::Protocol::Udp: return 'u';
    case transport::Protocol::Tcp: return 't';
    case transport::Protocol::Tls: return 's';
    case transport::Protocol::Ws: return 'w';
    case transport::Protocol::Wss: return 'x';
  }
  return 'u';
}

std::optional<transport::Protocol> protocol_from_letter(char letter) {
  switch (letter) {
    case 'u': return transport::Protocol::Udp;
    case 't': return transport::Protocol::Tcp;
    case 's': return transport::Protocol::Tls;
    case 'w': return transport::Protocol::Ws;
    case 'x': return transport::Protocol::Wss;
    default: return std::nullopt;
  }
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Splits "a~b~c~d" into exactly four fields.
std::optional<std::array<std::string_view, 4>> split_token(std::string_view token) {
  std::array<std::string_view, 4> fields;
  for (size_t i = 0; i < 3; ++i) {
    size_t at = token.find(kSeparator);
    if (at == std::string_view::npos) return std::nullopt;
    fields[i] = token.substr(0, at);
    token.remove_prefix(at + 1);
  }
  if (token.find(kSeparator) != std::string_view::npos) return std::nullopt;
  fields[3] = token;
  return fields;
}

void append_hex(std::string& out, const unsigned char* bytes, size_t count) {
  static constexpr char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < count; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xf];
  }
}

// Tags and Call-IDs are tokens in SIP, but a To/From tag may still hold a
// character a URI parameter must escape; such dialogs simply get the tag
// percent-encoded.
std::string uri_param_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("-_.!~*'()").find(c) != std::string_view::npos;
    if (plain) {
      out += c;
    } else {
      static constexpr char digits[] = "0123456789ABCDEF";
      out += '%';
      out += digits[static_cast<unsigned char>(c) >> 4];
      out += digits[static_cast<unsigned char>(c) & 0xf];
    }
  }
  return out;
}

std::string uri_param_unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned byte = 0;
    if (text[i] == '%' && i + 3 <= text.size()) {
      auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16);
      if (error == std::errc{} && end == text.data() + i + 3) {
        out += static_cast<char>(byte);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace

std::string flow_token(const transport::Peer& peer) {
  std::string token(1, protocol_letter(peer.protocol));
  token += kSeparator;
  transport::append_address(token, peer.address);
  token += kSeparator;
  token += std::to_string(peer.port);
  token += kSeparator;
  token += std::to_string(peer.connection);
  return token;
}

std::optional<transport::Peer> parse_flow_token(std::string_view token) {
  auto fields = split_token(token);
  if (!fields || (*fields)[0].size() != 1) return std::nullopt;
  auto protocol = protocol_from_letter((*fields)[0][0]);
  auto port = parse_number<uint16_t>((*fields)[2]);
  auto connection = parse_number<transport::ConnectionId>((*fields)[3]);
  boost::system::error_code error;
  auto address = boost::asio::ip::make_address(std::string((*fields)[1]), error);
  if (!protocol || !port || !connection || error) return std::nullopt;
  return transport::Peer{*protocol, address, *port, *connection};
}

DialogRouteSigner::DialogRouteSigner(std::string_view secret)
    : key_(secret.empty() ? random::hex(32) : std::string(secret)) {}

std::string DialogRouteSigner::mac(std::string_view call_id, std::string_view tag,
                                   std::string_view caller, std::string_view callee) const {
  // Length-prefixed fields, so that no two different inputs share a message.
  std::string message;
  for (std::string_view field : {call_id, tag, caller, callee}) {
    message += std::to_string(field.size());
    message += ':';
    message += field;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  std::string hex;
  append_hex(hex, digest, 12);  // 96 bits: forging one needs 2^96 tries
  return hex;
}

std::string DialogRouteSigner::parameters(std::string_view call_id, const DialogRoute& route) const {
  std::string caller = flow_token(route.caller_flow);
  std::string callee = flow_token(route.callee_flow);
  std::string params = "lr;ftag=" + uri_param_escape(route.caller_tag);
  params += ";cf=" + caller;
  params += ";ef=" + callee;
  params += ";ck=" + mac(call_id, route.caller_tag, caller, callee);
  return params;
}

std::optional<DialogRoute> DialogRouteSigner::verify(std::string_view call_id, const sip::Uri& uri) const {
  auto tag = uri.param("ftag");
  auto caller = uri.param("cf");
  auto callee = uri.param("ef");
  auto check = uri.param("ck");
  if (!tag || !caller || !callee || !check) return std::nullopt;
  DialogRoute route;
  route.caller_tag = uri_param_unescape(*tag);
  std::string expected = mac(call_id, route.caller_tag, *caller, *callee);
  if (check->size() != expected.size() ||
      CRYPTO_memcmp(check->data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  auto caller_flow = parse_flow_token(*caller);
  auto callee_flow = parse_flow_token(*callee);
  if (!caller_flow || !callee_flow) return std::nullopt;
  route.caller_flow = *caller_flow;
  route.callee_flow = *callee_flow;
  return route;
}

std::string DialogRouteSigner::relay_parameters(std::string_view call_id, const transport::Peer& flow,
                                                std::string_view request_uri) const {
  std::string token = flow_token(flow);
  return "lr;relay=" + token + ";rk=" + mac(call_id, "relay", token, request_uri);
}

std::optional<transport::Peer> DialogRouteSigner::verify_relay(std::string_view call_id, const sip::Uri& uri,
                                                               std::string_view request_uri) const {
  auto token = uri.param("relay");
  auto check = uri.param("rk");
  if (!token || !check) return std::nullopt;
  std::string expected = mac(call_id, "relay", *token, request_uri);
  if (check->size() != expected.size() ||
      CRYPTO_memcmp(check->data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  return parse_flow_token(*token);
}

std::string record_route_value(std::string_view host, uint16_t port, transport::Protocol protocol,
                               std::string_view params) {
  bool secure = protocol == transport::Protocol::Tls || protocol == transport::Protocol::Wss;
  std::string value = secure ? "<sips:" : "<sip:";
  value += host;
  if (port != 0) {
    value += ':';
    value += std::to_string(port);
  }
  // sips: already says TLS; WS and WSS name their transport (RFC 7118).
  if (protocol == transport::Protocol::Tcp || protocol == transport::Protocol::Ws ||
      protocol == transport::Protocol::Wss) {
    value += ";transport=";
    value += protocol == transport::Protocol::Tcp ? "tcp" : "ws";
  }
  value += ';';
  value += params;
  value += '>';
  return value;
}

}  // namespace cppbx::call
