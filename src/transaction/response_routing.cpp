// Where responses go (RFC 3261 18.2.2, RFC 3581) and how the top Via of a
// response learns the request's source. Both are pure functions of the request
// and the Peer it came from, so they are unit-tested without sockets.
#include <charconv>
#include <string>

#include <boost/asio/ip/address.hpp>

#include "transaction/transaction_layer.hpp"

namespace cppbx::transaction {

namespace {
constexpr uint16_t kDefaultSipPort = 5060;

// Offset just past a value-less ";rport" parameter inside `via`, or npos.
size_t find_bare_rport(std::string_view via) {
  constexpr std::string_view kRport = ";rport";
  size_t at = 0;
  while ((at = via.find(kRport, at)) != std::string_view::npos) {
    size_t end = at + kRport.size();
    if (end == via.size() || via[end] == ';' || via[end] == ',' || via[end] == ' ' || via[end] == '\t') {
      return end;
    }
    at = end;
  }
  return std::string_view::npos;
}
}  // namespace

transport::Peer response_destination(const transport::Inbound& request) {
  transport::Peer destination = request.peer;
  if (transport::is_reliable(destination.protocol)) return destination;
  if (!request.parsed.message) return destination;
  const sip::Via& via = request.parsed.message->top_via();
  if (via.has_rport) return destination;  // RFC 3581: source address and port
  destination.port = via.port != 0 ? via.port : kDefaultSipPort;
  return destination;
}

// RFC 3261 18.2.1: a sent-by host that is not the address the request came
// from gets ";received=<source>" even without rport, so the client (and any
// proxy on the way back) sees where the server saw it.
bool sent_by_is_source(const sip::Via& via, const transport::Peer& source) {
  std::string_view host = via.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code error;
  auto address = boost::asio::ip::make_address(host, error);
  return !error && address == source.address;
}

void stamp_via_source(std::string& response, const sip::Message& request, const transport::Peer& source) {
  const sip::Via& via = request.top_via();
  if (via.text.empty() || via.rport) return;
  size_t header_start = response.find("\r\n");
  if (header_start == std::string::npos) return;
  size_t via_at = response.find(via.text, header_start);
  if (via_at == std::string::npos) return;
  if (!via.has_rport) {
    if (!via.received && !sent_by_is_source(via, source)) {
      response.insert(via_at + via.text.size(), ";received=" + source.address.to_string());
    }
    return;
  }
  size_t rport_end = find_bare_rport(std::string_view(response).substr(via_at, via.text.size()));
  if (rport_end == std::string_view::npos) return;

  thread_local std::string stamp;
  // clear() + push_back: GCC 12 at -O3 warns falsely (-Wrestrict) about assign("=").
  stamp.clear();
  stamp.push_back('=');
  char digits[8];
  stamp.append(digits, std::to_chars(digits, digits + sizeof digits, source.port).ptr);
  if (!via.received) {
    stamp += ";received=";
    transport::append_address(stamp, source.address);
  }
  response.insert(via_at + rport_end, stamp);
}

}  // namespace cppbx::transaction
