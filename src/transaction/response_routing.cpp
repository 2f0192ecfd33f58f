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

namespace {
// The stamp for the top Via, and where in its text it goes; false when the
// Via needs none. `stamp` is reused by the caller's thread.
bool via_source_stamp(const sip::Via& via, const transport::Peer& source, std::string& stamp, size_t& at) {
  if (via.text.empty() || via.rport) return false;
  // clear() + push_back: GCC 12 at -O3 warns falsely (-Wrestrict) about assign("=").
  stamp.clear();
  if (!via.has_rport) {
    if (via.received || sent_by_is_source(via, source)) return false;
    stamp += ";received=";
    transport::append_address(stamp, source.address);
    at = via.text.size();
    return true;
  }
  at = find_bare_rport(via.text);
  if (at == std::string_view::npos) return false;
  stamp.push_back('=');
  char digits[8];
  stamp.append(digits, std::to_chars(digits, digits + sizeof digits, source.port).ptr);
  if (!via.received) {
    stamp += ";received=";
    transport::append_address(stamp, source.address);
  }
  return true;
}
}  // namespace

std::string build_stamped_response(const sip::Message& request, const transport::Peer& source,
                                   sip::ResponseSpec& spec) {
  thread_local std::string stamp;
  size_t at = 0;
  if (via_source_stamp(request.top_via(), source, stamp, at)) {
    spec.top_via_insert = stamp;
    spec.top_via_insert_at = at;
  } else {
    spec.top_via_insert = {};
  }
  return sip::build_response(request, spec);
}

}  // namespace cppbx::transaction
