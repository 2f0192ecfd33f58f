// See transaction_keys.hpp. The unit separator (0x1f) cannot appear in the
// header values it separates, so distinct field tuples give distinct keys.
#include "transaction/transaction_keys.hpp"

#include <charconv>

namespace cppbx::transaction {

namespace {
constexpr char kSeparator = '\x1f';

void append_number(std::string& out, uint32_t number) {
  char digits[16];
  auto result = std::to_chars(digits, digits + sizeof digits, number);
  out.append(digits, result.ptr);
}
}  // namespace

std::string_view matching_method(const sip::Message& request) {
  return request.method() == sip::Method::Ack ? std::string_view("INVITE") : request.method_text();
}

void server_key(const sip::Message& request, std::string_view method, std::string& out) {
  const sip::Via& via = request.top_via();
  out.clear();
  if (via.rfc3261_branch()) {
    out += '3';
    out += via.branch;
    out += kSeparator;
    out += via.host;
    out += ':';
    append_number(out, via.port);
  } else {
    out += '2';
    out += request.request_uri_text();
    out += kSeparator;
    out += request.from().tag();
    out += kSeparator;
    out += request.call_id();
    out += kSeparator;
    append_number(out, request.cseq().number);
    out += kSeparator;
    out += via.text;
  }
  out += kSeparator;
  out += method;
}

void merge_key(const sip::Message& request, std::string& out) {
  out.clear();
  // One allocation instead of a growth step per field (the key outlives
  // the request in the transaction).
  out.reserve(request.from().tag().size() + request.call_id().size() + request.cseq().method.size() + 16);
  out += request.from().tag();
  out += kSeparator;
  out += request.call_id();
  out += kSeparator;
  append_number(out, request.cseq().number);
  out += kSeparator;
  out += request.cseq().method;
}

void client_key(std::string_view branch, std::string_view cseq_method, std::string& out) {
  out.clear();
  out += branch;
  out += kSeparator;
  out += cseq_method;
}

std::string& scratch_key() {
  thread_local std::string buffer;
  return buffer;
}

}  // namespace cppbx::transaction
