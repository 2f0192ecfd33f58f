// A floor for the registrar benchmark, not a registrar: the least a UDP server
// can do for the benchmark's load on this machine. Every REGISTER without an
// Authorization header gets a 401 with a digest challenge, every other
// request a 200; the answer echoes Via, From, To (with a tag), Call-ID and
// CSeq, and a 200 to a REGISTER echoes its Contact. Nothing is checked,
// hashed, looked up or kept, and nothing is logged.
//
// What it spends per registration is what the kernel and the loop cost for
// the four datagrams (receive a REGISTER, send a 401, receive the REGISTER
// with credentials, send a 200), with the same system calls cppbx uses:
// one thread per SO_REUSEPORT socket blocked in recvmmsg, the batch's answers
// leaving in one sendmmsg. bench/registrar/floor.py runs it beside cppbx and
// Kamailio under the same load.
//
//   floor_responder --port N [--threads N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr size_t kBatch = 8;
constexpr size_t kDatagram = 65536;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// The answer to one request, or an empty string (a response, or no request
// line): appended to `out`, which the caller reuses.
void answer(std::string_view request, unsigned long nonce, std::string& out) {
  out.clear();
  size_t line_end = request.find('\n');
  if (line_end == std::string_view::npos || request.starts_with("SIP/2.0")) return;
  std::string_view method = request.substr(0, request.find(' '));
  std::string_view echoed[5];  // Via, From, To, Call-ID, CSeq lines (values)
  std::string_view contact;
  bool credentials = false;
  size_t position = line_end + 1;
  while (position < request.size()) {
    size_t end = request.find('\n', position);
    if (end == std::string_view::npos) end = request.size();
    std::string_view line = request.substr(position, end - position);
    position = end + 1;
    if (trim(line).empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "via") || iequals(name, "v")) echoed[0] = value;
    else if (iequals(name, "from") || iequals(name, "f")) echoed[1] = value;
    else if (iequals(name, "to") || iequals(name, "t")) echoed[2] = value;
    else if (iequals(name, "call-id") || iequals(name, "i")) echoed[3] = value;
    else if (iequals(name, "cseq")) echoed[4] = value;
    else if (iequals(name, "contact") || iequals(name, "m")) contact = value;
    else if (iequals(name, "authorization")) credentials = true;
  }
  bool challenge = method == "REGISTER" && !credentials;
  out += challenge ? "SIP/2.0 401 Unauthorized\r\n" : "SIP/2.0 200 OK\r\n";
  static constexpr std::string_view kNames[5] = {"Via: ", "From: ", "To: ", "Call-ID: ", "CSeq: "};
  for (size_t i = 0; i < 5; ++i) {
    out += kNames[i];
    out += echoed[i];
    if (i == 2 && echoed[i].find(";tag=") == std::string_view::npos) out += ";tag=floor";
    out += "\r\n";
  }
  if (challenge) {
    char nonce_text[32];
    std::snprintf(nonce_text, sizeof nonce_text, "%016lx", nonce);
    out += "WWW-Authenticate: Digest realm=\"floor\", nonce=\"";
    out += nonce_text;
    out += "\", qop=\"auth\", algorithm=MD5\r\n";
  } else if (method == "REGISTER" && !contact.empty()) {
    out += "Contact: ";
    out += contact;
    out += ";expires=3600\r\n";
  }
  out += "Content-Length: 0\r\n\r\n";
}

int open_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("floor_responder: socket");
    std::exit(1);
  }
  return fd;
}

void serve(int fd) {
  std::vector<char> buffers(kBatch * kDatagram);
  std::array<sockaddr_in, kBatch> peers{};
  std::array<iovec, kBatch> in_vectors{}, out_vectors{};
  std::array<mmsghdr, kBatch> in{}, out{};
  std::array<std::string, kBatch> answers;
  unsigned long nonce = static_cast<unsigned long>(fd) << 48;
  for (;;) {
    for (size_t i = 0; i < kBatch; ++i) {
      in_vectors[i] = {buffers.data() + i * kDatagram, kDatagram};
      in[i].msg_hdr = {};
      in[i].msg_hdr.msg_name = &peers[i];
      in[i].msg_hdr.msg_namelen = sizeof peers[i];
      in[i].msg_hdr.msg_iov = &in_vectors[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    int received = recvmmsg(fd, in.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (received <= 0) continue;
    unsigned sending = 0;
    for (int i = 0; i < received; ++i) {
      answer({buffers.data() + i * kDatagram, in[i].msg_len}, ++nonce, answers[sending]);
      if (answers[sending].empty()) continue;
      out_vectors[sending] = {answers[sending].data(), answers[sending].size()};
      out[sending].msg_hdr = {};
      out[sending].msg_hdr.msg_name = &peers[i];
      out[sending].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
      out[sending].msg_hdr.msg_iov = &out_vectors[sending];
      out[sending].msg_hdr.msg_iovlen = 1;
      ++sending;
    }
    if (sending > 0) sendmmsg(fd, out.data(), sending, 0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view option = argv[i];
    if (option == "--port") port = std::atoi(argv[i + 1]);
    else if (option == "--threads") threads = std::atoi(argv[i + 1]);
  }
  if (port <= 0 || port > 65535 || threads < 1) {
    std::fprintf(stderr, "usage: floor_responder --port N [--threads N]\n");
    return 2;
  }
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(serve, open_socket(port));
  for (auto& worker : workers) worker.join();
}
