// RFC 4475 and RFC 5118 torture messages: every .dat file in the shared
// folder has one expected outcome here, with the reason the RFC gives. A file
// without an entry fails the test, so new fixtures cannot slip by unchecked.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "sip/builder.hpp"
#include "sip/parser.hpp"

namespace cppbx::sip {
namespace {

struct Expectation {
  ParseStatus status;
  bool can_respond;     // only meaningful for requests
  const char* why;      // the RFC's reason, one line
};

constexpr ParseStatus kOk = ParseStatus::Ok;
constexpr ParseStatus kBad = ParseStatus::Malformed;

const std::map<std::string, Expectation>& rfc4475() {
  static const std::map<std::string, Expectation> table = {
      // 3.1.1 valid messages
      {"wsinv", {kOk, true, "3.1.1.1 tortuous but legal whitespace, folding, compact forms"}},
      {"intmeth", {kOk, true, "3.1.1.2 every legal token/escape character in method, URI, headers"}},
      {"esc01", {kOk, true, "3.1.1.3 valid %-escaping in URIs"}},
      {"escnull", {kOk, true, "3.1.1.4 escaped NULs (%00) in URIs are legal"}},
      {"esc02", {kOk, true, "3.1.1.5 '%' that is not an escape in method/token/quoted string is legal"}},
      {"lwsdisp", {kOk, true, "3.1.1.6 no LWS between display name and '<' is legal"}},
      {"longreq", {kOk, true, "3.1.1.7 long values are legal"}},
      {"dblreq", {kOk, true, "3.1.1.8 octets after Content-Length in a datagram are ignored"}},
      {"semiuri", {kOk, true, "3.1.1.9 ';' inside the user part of a URI is legal"}},
      {"transports", {kOk, true, "3.1.1.10 unknown transports in Via are legal"}},
      {"mpart01", {kOk, true, "3.1.1.11 multipart MIME body"}},
      {"unreason", {kOk, false, "3.1.1.12 unusual (UTF-8) reason phrase is legal"}},
      {"noreason", {kOk, false, "3.1.1.13 empty reason phrase is legal"}},
      // 3.1.2 invalid messages
      {"badinv01", {kBad, false, "3.1.2.1 empty Via/Contact params (';;,;,,'): 400"}},
      {"clerr", {kBad, true, "3.1.2.2 Content-Length larger than the datagram: 400"}},
      {"ncl", {kBad, true, "3.1.2.3 negative Content-Length: 400"}},
      {"scalar02", {kBad, true, "3.1.2.4 CSeq beyond 2**31 and Max-Forwards 300: 400"}},
      {"scalarlg", {kBad, false, "3.1.2.5 response with overlarge CSeq: discard"}},
      {"quotbal", {kBad, false, "3.1.2.6 unterminated quoted display name in To: 400"}},
      {"ltgtruri", {kBad, true, "3.1.2.7 Request-URI enclosed in <>: 400"}},
      {"lwsruri", {kBad, true, "3.1.2.8 LWS inside the Request-URI: 400"}},
      {"lwsstart", {kBad, true, "3.1.2.9 several SPs between Request-Line elements: 400"}},
      {"trws", {kBad, true, "3.1.2.10 trailing SPs after the SIP-Version: 400"}},
      {"escruri", {kBad, true, "3.1.2.11 headers ('?Route=') in the Request-URI: 400"}},
      {"baddate", {kOk, true, "3.1.2.12 non-GMT Date: the RFC allows accepting; Date is not interpreted"}},
      {"regbadct", {kBad, true, "3.1.2.13 URI with '?' in Contact without <>: 400"}},
      {"badaspec", {kBad, false, "3.1.2.14 spaces inside <> around the addr-spec in To: 400"}},
      {"baddn", {kBad, false, "3.1.2.15 non-token characters (',') in unquoted display names: 400"}},
      {"badvers", {ParseStatus::VersionUnsupported, true, "3.1.2.16 SIP/7.0: 505"}},
      {"mismatch01", {kBad, true, "3.1.2.17 CSeq method differs from the request method: 400"}},
      {"mismatch02", {kBad, true, "3.1.2.18 unknown method with a different CSeq method: 400"}},
      {"bigcode", {kBad, false, "3.1.2.19 status code 4294967301: discard"}},
      // 3.2 transaction layer
      {"badbranch", {kOk, true, "3.2.1 branch is only the magic cookie: parses, transaction layer copes"}},
      // 3.3 application layer: syntactically valid, answered by the core
      {"insuf", {kBad, false, "3.3.1 missing Call-ID, From, To: 400 (cannot be answered)"}},
      {"unkscm", {ParseStatus::SchemeUnsupported, true, "3.3.2 unknown Request-URI scheme: 416"}},
      {"novelsc", {ParseStatus::SchemeUnsupported, true, "3.3.3 soap.beep Request-URI, not supported: 416"}},
      {"unksm2", {kOk, true, "3.3.4 absolute URIs in To/From/Contact are legal; registrar rejects"}},
      {"bext01", {kOk, true, "3.3.5 unknown Require/Proxy-Require: parses, core answers 420"}},
      {"invut", {kOk, true, "3.3.6 unknown Content-Type: parses, UAS answers 415"}},
      {"regaut01", {kOk, true, "3.3.7 unknown Authorization scheme: parses"}},
      {"multi01", {kBad, true, "3.3.8 several To/From/Call-ID/CSeq: 400"}},
      {"mcl01", {kBad, true, "3.3.9 two different Content-Length values: 400"}},
      {"bcast", {kOk, false, "3.3.10 response with broadcast Via: parses, transport drops"}},
      {"zeromf", {kOk, true, "3.3.11 Max-Forwards 0: parses, core answers 483"}},
      {"cparam01", {kOk, true, "3.3.12 Contact header param on addr-spec"}},
      {"cparam02", {kOk, true, "3.3.13 Contact URI param inside <>"}},
      {"regescrt", {kOk, true, "3.3.14 escaped headers in a <> Contact URI are legal"}},
      {"sdp01", {kOk, true, "3.3.15 unacceptable Accept: parses, UAS answers 406"}},
      {"inv2543", {kOk, true, "3.4.1 RFC 2543 syntax (no branch, no Max-Forwards) still parses"}},
      // Not from RFC 4475: no SIP-Version on the Request-Line, To without a
      // URI scheme, a header line without ':'.
      {"test", {kBad, false, "extra fixture: Request-Line lacks SIP-Version: 400"}},
  };
  return table;
}

const std::map<std::string, Expectation>& rfc5118() {
  static const std::map<std::string, Expectation> table = {
      {"ipv6-good", {kOk, true, "4.1 IPv6 reference in Request-URI, Via and Contact"}},
      {"ipv6-bad", {kBad, true, "4.2 IPv6 address without brackets in the Request-URI: 400"}},
      {"port-ambiguous", {kOk, true, "4.3 [2001:db8::10:5070] is an address, no port"}},
      {"port-unambiguous", {kOk, true, "4.4 [2001:db8::10]:5070 is address and port"}},
      {"via-received-param-with-delim", {kOk, true, "4.5 received=[v6] must be accepted"}},
      {"via-received-param-no-delim", {kOk, true, "4.5 received=v6 must be accepted"}},
      {"ipv6-in-sdp", {kOk, true, "4.6 IPv6 in SDP"}},
      {"mult-ip-in-header", {kOk, true, "4.7 IPv4 and IPv6 Vias in one message"}},
      {"mult-ip-in-sdp", {kOk, true, "4.8 IPv4 and IPv6 in SDP"}},
      {"ipv4-mapped-ipv6", {kOk, true, "4.9 ::ffff:a.b.c.d in Via and Contact"}},
      {"ipv6-bug-abnf-3-colons", {kOk, true, "4.10 ':::' form must be tolerated"}},
      {"ipv6-correct-abnf-2-colons", {kOk, true, "4.10 correct '::' form"}},
  };
  return table;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void check_folder(const std::string& folder, const std::map<std::string, Expectation>& table) {
  const std::filesystem::path dir = std::filesystem::path(CPPBX_SHARED_DIR) / "torture" / folder;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".dat") continue;
    const std::string name = entry.path().stem().string();
    auto expected = table.find(name);
    ASSERT_NE(expected, table.end()) << "no expectation for " << folder << "/" << name;
    const std::string bytes = read_file(entry.path());
    ParseResult result = parse_message(bytes);
    SCOPED_TRACE(folder + "/" + name + ": " + expected->second.why + " (got reason '" +
                 result.reason + "')");
    EXPECT_EQ(result.status, expected->second.status);
    if (result.message && result.message->is_request()) {
      EXPECT_EQ(result.can_respond, expected->second.can_respond);
    } else {
      EXPECT_FALSE(result.can_respond);
    }
    if (result.status != ParseStatus::Ok) {
      EXPECT_FALSE(result.reason.empty());
    }
    // Whatever the outcome, answering an answerable request must work.
    if (result.can_respond) {
      std::string response = build_response(*result.message, ResponseSpec{400});
      // The answer must at least reach the client as a 400 (its echoed CSeq
      // may be as broken as the request's was).
      ParseResult reparsed = parse_message(response);
      ASSERT_TRUE(reparsed.message != nullptr) << response << reparsed.reason;
      EXPECT_EQ(reparsed.message->status_code(), 400) << response;
    }
    ++checked;
  }
  EXPECT_EQ(checked, table.size()) << "some expected files are missing";
}

TEST(Torture, Rfc4475EveryMessageGetsTheOutcomeTheRfcRequires) { check_folder("rfc4475", rfc4475()); }

TEST(Torture, Rfc5118EveryMessageGetsTheOutcomeTheRfcRequires) { check_folder("rfc5118", rfc5118()); }

}  // namespace
}  // namespace cppbx::sip
