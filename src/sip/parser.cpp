// parse_message(), frame_length() and skip_keepalive() (RFC 3261 7, 18.3, 25).
//
// One pass splits the message into lines: the start line, then header lines
// whose names and values become views into the message's own copy of the
// bytes. Only folded headers are rewritten (unfolded into the arena). A second
// pass over the small header index checks the core headers.
//
// Errors never stop the scan early (except hard limits): the first problem
// found becomes the 400 reason, and the core headers are still extracted so
// that the caller can answer the request when can_respond is set. Precedence
// of outcomes: 513 (limits) > 505 (version) > 400 (first problem) > 416.
#include "sip/parser.hpp"

#include <cstring>

#include "common/strings.hpp"
#include "sip/scan.hpp"

namespace cppbx::sip {
namespace {

using namespace detail;

// "SIP/" 1*DIGIT "." 1*DIGIT, case-insensitive "SIP".
bool looks_like_version(std::string_view v) {
  if (!istarts_with(v, "SIP/")) return false;
  v.remove_prefix(4);
  size_t dot = v.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == v.size()) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != dot && !is_digit(v[i])) return false;
  }
  return true;
}

bool valid_call_id(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// Replaces every line break and the whitespace after it with one space
// (RFC 3261 7.3.1: folding is equivalent to a single SP).
std::string unfold(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n') {
      while (i + 1 < text.size() && (text[i + 1] == '\r' || text[i + 1] == '\n' ||
                                     is_ws(text[i + 1]))) {
        ++i;
      }
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

class Parser {
 public:
  Parser(std::string_view input, const ParserLimits& limits) : input_(input), limits_(limits) {}
  ParseResult run();

 private:
  bool read_line(std::string_view& line);
  bool parse_start_line(std::string_view line);
  bool parse_status_line(std::string_view line);
  bool parse_request_line(std::string_view line);
  void parse_request_uri(std::string_view text);
  bool split_headers();
  bool add_header(std::string_view raw, bool folded);
  void check_core_headers();
  void check_body(const std::optional<uint32_t>& content_length, bool content_length_ok);
  void fail(std::string_view reason) {
    if (error_.empty()) error_ = reason;
  }
  ParseResult finish();

  std::string_view input_;
  const ParserLimits& limits_;
  // The message is built in place where it will live; msg_ stays valid after
  // finish() hands `owned_` over (the object itself does not move).
  std::unique_ptr<Message> owned_ = std::make_unique<Message>();
  Message& msg_ = *owned_;
  std::string_view data_;
  size_t pos_ = 0;
  size_t body_start_ = 0;
  std::string error_;
  bool too_large_ = false;
  bool version_unsupported_ = false;
  bool scheme_unsupported_ = false;
  bool top_via_ok_ = false;
  bool from_ok_ = false;
  bool to_ok_ = false;
  bool call_id_ok_ = false;
  bool cseq_ok_ = false;
};

bool Parser::read_line(std::string_view& line) {
  const void* found = std::memchr(data_.data() + pos_, '\n', data_.size() - pos_);
  if (found == nullptr) {
    line = data_.substr(pos_);
    pos_ = data_.size();
    return false;
  }
  size_t newline = static_cast<size_t>(static_cast<const char*>(found) - data_.data());
  line = data_.substr(pos_, newline - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = newline + 1;
  return true;
}

bool Parser::parse_status_line(std::string_view line) {
  msg_.is_request_ = false;
  size_t sp = line.find(' ');
  msg_.version_ = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  bool code_ok = rest.size() >= 3 && is_digit(rest[0]) && is_digit(rest[1]) && is_digit(rest[2]) &&
                 (rest.size() == 3 || rest[3] == ' ');
  if (code_ok) {
    msg_.status_code_ = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    code_ok = msg_.status_code_ >= 100 && msg_.status_code_ <= 699;
    msg_.reason_phrase_ = rest.size() > 4 ? rest.substr(4) : std::string_view{};
  }
  if (!code_ok) fail("Bad Status-Line");
  if (!iequals(msg_.version_, "SIP/2.0")) {
    if (looks_like_version(msg_.version_)) {
      version_unsupported_ = true;
    } else {
      fail("Bad Status-Line");
    }
  }
  return true;
}

void Parser::parse_request_uri(std::string_view text) {
  msg_.request_uri_text_ = text;
  auto uri = parse_uri(text);
  if (!uri) {
    fail("Bad Request-URI");
    return;
  }
  msg_.request_uri_ = *uri;
  if (uri->scheme == UriScheme::Unknown) {
    scheme_unsupported_ = true;
  } else if (!uri->headers.empty()) {
    fail("Bad Request-URI");  // RFC 3261 19.1.1: headers are not allowed here
  }
}

// Method SP Request-URI SP SIP-Version, single spaces only (RFC 3261 7.1).
bool Parser::parse_request_line(std::string_view line) {
  size_t sp1 = line.find(' ');
  std::string_view method = line.substr(0, sp1);
  if (sp1 == std::string_view::npos || !is_token(method)) {
    fail("Bad Request-Line");
    return false;  // not recognisable as a request at all
  }
  msg_.is_request_ = true;
  msg_.method_text_ = method;
  msg_.method_ = method_from_name(method);
  std::string_view rest = line.substr(sp1 + 1);
  size_t sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos || sp2 == 0) {
    msg_.request_uri_text_ = rest.substr(0, sp2);
    fail("Bad Request-Line");
    return true;
  }
  msg_.version_ = rest.substr(sp2 + 1);
  if (!iequals(msg_.version_, "SIP/2.0")) {
    if (looks_like_version(msg_.version_)) {
      version_unsupported_ = true;
    } else {
      fail("Bad Request-Line");
      msg_.request_uri_text_ = rest.substr(0, sp2);
      return true;
    }
  }
  parse_request_uri(rest.substr(0, sp2));
  return true;
}

bool Parser::parse_start_line(std::string_view line) {
  if (istarts_with(line, "SIP/")) return parse_status_line(line);
  return parse_request_line(line);
}

bool Parser::add_header(std::string_view raw, bool folded) {
  size_t colon = raw.find(':');
  std::string_view name = colon == std::string_view::npos ? raw : trim_right(raw.substr(0, colon));
  if (colon == std::string_view::npos || !is_token(name)) {
    fail("Bad header line");
    return true;
  }
  if (msg_.headers_.size() >= limits_.max_headers) {
    too_large_ = true;
    return false;
  }
  std::string_view value = raw.substr(colon + 1);
  if (folded) {
    msg_.arena_.push_front(unfold(value));
    value = msg_.arena_.front();
  }
  msg_.headers_.push_back(Header{header_id(name), name, trim(value), raw});
  return true;
}

// Splits header lines up to the empty line. Returns false when a hard limit
// was hit. A message that ends without the empty line ends its headers there.
bool Parser::split_headers() {
  size_t header_start = std::string_view::npos;
  size_t header_end = 0;
  bool folded = false;
  auto flush = [&]() {
    if (header_start == std::string_view::npos) return true;
    bool ok = add_header(data_.substr(header_start, header_end - header_start), folded);
    header_start = std::string_view::npos;
    return ok;
  };
  while (pos_ < data_.size()) {
    size_t line_start = pos_;
    std::string_view line;
    read_line(line);
    if (line.empty()) break;
    if (is_ws(line.front())) {
      if (header_start == std::string_view::npos) {
        fail("Bad header line");
      } else {
        folded = true;
        header_end = line_start + line.size();
      }
      continue;
    }
    if (!flush()) return false;
    header_start = line_start;
    header_end = line_start + line.size();
    folded = false;
  }
  body_start_ = pos_;
  return flush();
}

void Parser::check_body(const std::optional<uint32_t>& content_length, bool content_length_ok) {
  size_t available = data_.size() - body_start_;
  if (!content_length_ok) {
    fail("Bad Content-Length");
    msg_.body_ = data_.substr(body_start_);
    return;
  }
  if (!content_length) {
    msg_.body_ = data_.substr(body_start_);  // datagram without length: the rest
    return;
  }
  if (*content_length > available) {
    fail("Bad Content-Length");  // RFC 3261 18.3: larger than the datagram
    msg_.body_ = data_.substr(body_start_);
    return;
  }
  // Smaller: the extra octets are not part of the message (RFC 3261 18.3).
  msg_.body_ = data_.substr(body_start_, *content_length);
  msg_.size_ = body_start_ + *content_length;
}

void Parser::check_core_headers() {
  int vias = 0, froms = 0, tos = 0, call_ids = 0, cseqs = 0, max_forwards = 0;
  bool via_ok = true, from_ok = true, to_ok = true, call_id_ok = true, cseq_ok = true;
  bool max_forwards_ok = true, contact_ok = true, content_length_ok = true;
  std::optional<uint32_t> content_length;

  for (const Header& h : msg_.headers_) {
    switch (h.id) {
      case HeaderId::Via:
        ++vias;
        via_ok = for_each_list_item(h.value, [this](std::string_view item) {
                   auto via = parse_via(item);
                   if (!via) return false;
                   if (!top_via_ok_) {
                     msg_.top_via_ = *via;
                     top_via_ok_ = true;
                   }
                   return true;
                 }) && via_ok;
        break;
      case HeaderId::From:
        if (++froms == 1) {
          auto from = parse_name_addr(h.value);
          from_ok = from.has_value();
          if (from) msg_.from_ = *from;
        }
        break;
      case HeaderId::To:
        if (++tos == 1) {
          auto to = parse_name_addr(h.value);
          to_ok = to.has_value();
          if (to) msg_.to_ = *to;
        }
        break;
      case HeaderId::CallId:
        if (++call_ids == 1) {
          call_id_ok = valid_call_id(h.value);
          msg_.call_id_ = h.value;
        }
        break;
      case HeaderId::CSeq:
        if (++cseqs == 1) {
          auto cseq = parse_cseq(h.value);
          cseq_ok = cseq.has_value();
          if (cseq) msg_.cseq_ = *cseq;
        }
        break;
      case HeaderId::MaxForwards: {
        auto value = parse_uint32(h.value);
        max_forwards_ok = max_forwards_ok && ++max_forwards == 1 && value && *value <= 255;
        if (max_forwards_ok) msg_.max_forwards_ = static_cast<int>(*value);
        break;
      }
      case HeaderId::ContentLength: {
        auto value = parse_uint32(h.value);
        if (!value || (content_length && *content_length != *value)) content_length_ok = false;
        content_length = value;
        break;
      }
      case HeaderId::Contact:
        contact_ok = contact_ok && append_contacts(h.value, msg_.contacts_);
        break;
      default:
        break;
    }
  }

  if (vias == 0) fail("Missing Via");
  if (!via_ok) fail("Bad Via");
  if (froms == 0) fail("Missing From");
  if (!from_ok) fail("Bad From");
  if (froms > 1) fail("Multiple From");
  if (tos == 0) fail("Missing To");
  if (!to_ok) fail("Bad To");
  if (tos > 1) fail("Multiple To");
  if (call_ids == 0) fail("Missing Call-ID");
  if (!call_id_ok) fail("Bad Call-ID");
  if (call_ids > 1) fail("Multiple Call-ID");
  if (cseqs == 0) fail("Missing CSeq");
  if (!cseq_ok) fail("Bad CSeq");
  if (cseqs > 1) fail("Multiple CSeq");
  if (cseqs > 0 && cseq_ok && msg_.is_request_ && msg_.cseq_.method != msg_.method_text_) {
    fail("CSeq method mismatch");
  }
  if (!max_forwards_ok) {
    fail("Bad Max-Forwards");
    msg_.max_forwards_ = -1;
  }
  if (!contact_ok) fail("Bad Contact");
  check_body(content_length, content_length_ok);

  // A response copies Call-ID and CSeq byte for byte (RFC 3261 8.2.6.2), so
  // a 400 can be sent when they are present even if one of them is the reason
  // for the 400: the client learns what is wrong instead of retransmitting
  // into silence. From and To must parse, as the response's To gets a tag.
  from_ok_ = froms > 0 && from_ok;
  to_ok_ = tos > 0 && to_ok;
  call_id_ok_ = call_ids > 0;
  cseq_ok_ = cseqs > 0;
}

ParseResult Parser::finish() {
  ParseResult result;
  if (msg_.size_ > limits_.max_message_size) too_large_ = true;
  result.can_respond =
      msg_.is_request_ && top_via_ok_ && from_ok_ && to_ok_ && call_id_ok_ && cseq_ok_;
  if (too_large_) {
    result.status = ParseStatus::TooLarge;
    result.reason = "Message Too Large";
  } else if (version_unsupported_) {
    result.status = ParseStatus::VersionUnsupported;
    result.reason = "Version Not Supported";
  } else if (!error_.empty()) {
    result.status = ParseStatus::Malformed;
    result.reason = std::move(error_);
  } else if (scheme_unsupported_) {
    result.status = ParseStatus::SchemeUnsupported;
    result.reason = "Unsupported URI Scheme";
  } else {
    result.status = ParseStatus::Ok;
  }
  result.message = std::move(owned_);
  return result;
}

ParseResult Parser::run() {
  std::string_view input = input_.substr(skip_keepalive(input_));
  if (input.empty()) {
    ParseResult empty;
    empty.reason = "Empty message";
    return empty;
  }
  msg_.buffer_ = std::make_unique_for_overwrite<char[]>(input.size());
  std::memcpy(msg_.buffer_.get(), input.data(), input.size());
  msg_.size_ = input.size();
  data_ = std::string_view(msg_.buffer_.get(), msg_.size_);
  // A typical request has up to 16 headers. That array (896 bytes today)
  // stays within the sizes malloc caches per thread; 24 headers did not.
  msg_.headers_.reserve(16);

  std::string_view start_line;
  read_line(start_line);
  if (!parse_start_line(start_line)) {
    ParseResult garbage;
    garbage.reason = std::move(error_);
    return garbage;
  }
  if (!split_headers()) {
    ParseResult over_limit;
    over_limit.status = ParseStatus::TooLarge;
    over_limit.reason = "Too Many Headers";
    return over_limit;
  }
  check_core_headers();
  return finish();
}

ParseResult parse_message(std::string_view bytes, const ParserLimits& limits) {
  return Parser(bytes, limits).run();
}

size_t skip_keepalive(std::string_view stream) {
  size_t i = 0;
  while (i < stream.size() && (stream[i] == '\r' || stream[i] == '\n')) ++i;
  return i;
}

// Scans header lines for Content-Length without building a Message: a stream
// transport calls this on every read, so it must stay cheap and bounded.
std::optional<size_t> frame_length(std::string_view stream, const ParserLimits& limits) {
  const size_t skip = skip_keepalive(stream);
  const std::string_view s = stream.substr(skip);
  std::optional<uint32_t> content_length;
  size_t pos = 0;
  size_t lines = 0;
  while (true) {
    size_t newline = s.find('\n', pos);
    if (newline == std::string_view::npos) {
      if (s.size() > limits.max_message_size) return std::nullopt;
      return 0;  // headers not complete yet
    }
    std::string_view line = s.substr(pos, newline - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = newline + 1;
    if (pos > limits.max_message_size) return std::nullopt;
    if (line.empty()) break;
    if (++lines > limits.max_headers + 1) return std::nullopt;
    if (lines == 1 || is_ws(line.front())) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // parse_message will reject it
    std::string_view name = trim(line.substr(0, colon));
    if (!iequals(name, "Content-Length") && !iequals(name, "l")) continue;
    auto value = parse_uint32(trim(line.substr(colon + 1)));
    if (!value || (content_length && *content_length != *value)) return std::nullopt;
    content_length = value;
  }
  if (!content_length) return std::nullopt;  // RFC 3261 18.3: required on streams
  size_t total = pos + *content_length;
  if (total > limits.max_message_size) return std::nullopt;
  return s.size() >= total ? skip + total : 0;
}

}  // namespace cppbx::sip
