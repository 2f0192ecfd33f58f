// Transaction matching keys (RFC 3261 17.1.3 and 17.2.3). Keys are plain
// strings written into a caller-provided buffer, so the hot path reuses one
// per-thread buffer instead of allocating.
//
// Server keys come in two kinds, distinguished by their first byte:
//  - RFC 3261 branches (magic cookie): branch + sent-by + method;
//  - RFC 2543 fallback: Request-URI + From tag + Call-ID + CSeq number + top
//    Via + method. The To tag is checked after the look-up, because an ACK
//    carries the tag of our response while its INVITE carried none.
// ACK and CANCEL look up their INVITE by passing "INVITE" as the method.
#pragma once

#include <string>
#include <string_view>

#include "sip/message.hpp"

namespace cppbx::transaction {

// "INVITE" for ACK (it belongs to the INVITE transaction), else the method.
std::string_view matching_method(const sip::Message& request);

void server_key(const sip::Message& request, std::string_view method, std::string& out);
// Key of RFC 3261 8.2.2.2 merged-request detection: From tag, Call-ID, CSeq.
void merge_key(const sip::Message& request, std::string& out);
void client_key(std::string_view branch, std::string_view cseq_method, std::string& out);

// A buffer per thread for composing keys.
std::string& scratch_key();

}  // namespace cppbx::transaction
