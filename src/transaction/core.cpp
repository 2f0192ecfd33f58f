// Responses the transaction layer produces by itself (see core.hpp).
#include "transaction/core.hpp"

namespace cppbx::transaction {

std::string Core::build_own_response(const sip::Message& request, const transport::Peer& source, int code,
                                      std::string_view reason, std::string_view to_tag,
                                      std::span<const sip::HeaderField> extra_headers) const {
  sip::ResponseSpec spec;
  spec.code = code;
  spec.reason = reason;
  spec.to_tag = to_tag;
  spec.headers.reserve(extra_headers.size() + 1);
  if (!options.server_header.empty()) spec.headers.emplace_back("Server", options.server_header);
  spec.headers.insert(spec.headers.end(), extra_headers.begin(), extra_headers.end());
  std::string bytes = sip::build_response(request, spec);
  stamp_via_source(bytes, request, source);
  return bytes;
}

void Core::respond_statelessly(const transport::Inbound& inbound, int code, std::string_view reason,
                               std::span<const sip::HeaderField> extra_headers) {
  const sip::Message& request = *inbound.parsed.message;
  std::string tag = new_tag();
  transport.send(response_destination(inbound),
                 build_own_response(request, inbound.peer, code, reason, tag, extra_headers));
}

}  // namespace cppbx::transaction
