// libFuzzer target for the SIP message layer. Feeds the raw input to every
// parser that sees untrusted bytes, and checks a few invariants that must
// hold whatever the input: framing agrees with parsing, views stay inside the
// message, and answerable requests produce parseable responses.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sip/builder.hpp"
#include "sip/headers.hpp"
#include "sip/parser.hpp"
#include "sip/uri.hpp"

namespace {

void check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

bool inside(std::string_view outer, std::string_view inner) {
  return inner.empty() ||
         (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

void exercise_message(const cppbx::sip::Message& message) {
  using namespace cppbx::sip;
  check(inside(message.raw(), message.body()), "body inside the message");
  for (const Header& header : message.headers()) {
    check(inside(message.raw(), header.raw), "header inside the message");
    (void)message.values(header.id);
  }
  if (const Header* contact = message.find(HeaderId::Contact)) (void)parse_contacts(contact->value);
  if (const Header* auth = message.find(HeaderId::Authorization)) (void)parse_auth_params(auth->value);
  std::string forwarded = [&] {
    MessageEditor editor(message);
    editor.remove_first_value(HeaderId::Via);
    editor.set_max_forwards(69);
    return editor.serialize();
  }();
  (void)parse_message(forwarded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cppbx::sip;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  ParseResult result = parse_message(input);
  if (result.message) exercise_message(*result.message);
  if (result.can_respond) {
    check(result.message && result.message->is_request(), "can_respond only for requests");
    std::string response = build_response(*result.message, ResponseSpec{400, result.reason});
    ParseResult reparsed = parse_message(response);
    // Via lines, Call-ID and CSeq are copied verbatim (a 400 may be about
    // them), so a broken lower Via, Call-ID or CSeq stays broken; any other
    // problem in our response is a bug.
    // (A Call-ID or CSeq problem in the response can only come from the
    // request's, which is copied as it was.)
    bool copied_broken = reparsed.reason == "Bad Call-ID" || reparsed.reason == "Bad CSeq";
    for (const Header& header : result.message->headers()) {
      if (header.id != HeaderId::Via) continue;
      auto items = split_list(header.value);
      copied_broken = copied_broken || items.empty();
      for (std::string_view via : items) copied_broken = copied_broken || !parse_via(via);
    }
    check(reparsed.status == ParseStatus::Ok || copied_broken, "our own response parses");
    check(reparsed.message && reparsed.message->status_code() == 400, "our response is a 400");
    check(reparsed.message && reparsed.message->call_id() == result.message->call_id(),
          "our response keeps the Call-ID");
  }

  if (auto length = frame_length(input)) {
    check(*length <= input.size(), "frame within the input");
  }
  (void)skip_keepalive(input);
  (void)parse_uri(input);
  (void)parse_name_addr(input);
  (void)parse_via(input);
  (void)parse_cseq(input);
  (void)parse_contacts(input);
  (void)parse_auth_params(input);
  (void)split_list(input);
  return 0;
}
