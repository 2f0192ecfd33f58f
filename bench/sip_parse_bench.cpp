// Parsing cost of the two messages a PBX sees most: a REGISTER carrying
// digest credentials and an INVITE with an SDP offer. Target: < 2 us each.
// Also measures the follow-up work the registrar does on a REGISTER
// (Contact and Authorization parsing) and building a response.
#include <benchmark/benchmark.h>

#include <string>

#include "sip/builder.hpp"
#include "sip/headers.hpp"
#include "sip/parser.hpp"

namespace {

const std::string kRegister =
    "REGISTER sip:pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.44:5060;branch=z9hG4bK-524287-1---a6c34cd7c1a6b4d3;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:1001@192.0.2.44:5060;rinstance=6d1c8a4b2e1f7a90;transport=UDP>;"
    "+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";reg-id=1\r\n"
    "To: <sip:1001@pbx.example.com>\r\n"
    "From: <sip:1001@pbx.example.com>;tag=8a7c5b3d\r\n"
    "Call-ID: ZDE0ZmM4YjA3NjhlMmY0YjQ3YjI1ZjYxMjA5ZDY0NDg\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Expires: 3600\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
    "Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri\r\n"
    "User-Agent: Z 5.6.1 v2.10.19.9\r\n"
    "Authorization: Digest username=\"1001\",realm=\"pbx.example.com\","
    "nonce=\"6627d2f1a9c64f8b9d1e0c3b5a7f2e4d\",uri=\"sip:pbx.example.com\","
    "response=\"0f3c7a9e4b1d2c6f8a5e7b9d3c1f4a2e\",cnonce=\"9b2d4f6a8c0e1b3d\",nc=00000001,"
    "qop=auth,algorithm=MD5\r\n"
    "Allow-Events: presence, kpml, talk\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

const std::string kSdp =
    "v=0\r\n"
    "o=- 3917292011 3917292011 IN IP4 192.0.2.44\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.44\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=sendrecv\r\n";

const std::string kInvite =
    "INVITE sip:1002@pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.44:5060;branch=z9hG4bK-524287-1---7b1e93f2d8c4a601;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:1001@192.0.2.44:5060;transport=UDP>\r\n"
    "To: <sip:1002@pbx.example.com>\r\n"
    "From: \"Alice\" <sip:1001@pbx.example.com>;tag=2c5f0e1a\r\n"
    "Call-ID: NjA2YzBiNmQ5ZTEyNDk3YjhhZjFlM2M0ZDU2Nzg5MGE\r\n"
    "CSeq: 1 INVITE\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
    "Content-Type: application/sdp\r\n"
    "Supported: replaces, norefersub, extended-refer, timer, outbound, path\r\n"
    "User-Agent: Z 5.6.1 v2.10.19.9\r\n"
    "Allow-Events: presence, kpml, talk\r\n"
    "Content-Length: " + std::to_string(kSdp.size()) + "\r\n"
    "\r\n" + kSdp;

void BM_ParseRegister(benchmark::State& state) {
  for (auto _ : state) {
    auto result = cppbx::sip::parse_message(kRegister);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_ParseRegister);

void BM_ParseInviteWithSdp(benchmark::State& state) {
  for (auto _ : state) {
    auto result = cppbx::sip::parse_message(kInvite);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_ParseInviteWithSdp);

// What the auth module reads from a parsed REGISTER beyond the parse itself:
// its credentials. (The Contact entries come out of the parse, in
// BM_ParseRegister; until bb65429 the registrar parsed them again, and this
// benchmark, then BM_RegisterContactsAndCredentials, did as well.)
void BM_RegisterCredentials(benchmark::State& state) {
  auto parsed = cppbx::sip::parse_message(kRegister);
  const auto& message = *parsed.message;
  for (auto _ : state) {
    auto auth = cppbx::sip::parse_auth_params(message.find(cppbx::sip::HeaderId::Authorization)->value);
    benchmark::DoNotOptimize(auth);
  }
}
BENCHMARK(BM_RegisterCredentials);

void BM_BuildRegisterResponse(benchmark::State& state) {
  auto parsed = cppbx::sip::parse_message(kRegister);
  cppbx::sip::ResponseSpec spec;
  spec.code = 200;
  spec.to_tag = "a6c85cf";
  spec.headers = {{"Contact", "<sip:1001@192.0.2.44:5060>;expires=3600"}};
  for (auto _ : state) {
    auto response = cppbx::sip::build_response(*parsed.message, spec);
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_BuildRegisterResponse);

}  // namespace
