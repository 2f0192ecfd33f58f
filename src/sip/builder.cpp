// Response building and MessageEditor.
//
// Both write into one std::string sized up front, copying received header
// lines verbatim (Header::raw) so that what we do not understand passes
// through unchanged, folding and compact names included. Caller-supplied
// reason phrases and header values are stripped of CR/LF so that they cannot
// inject header lines.
#include "sip/builder.hpp"

#include <charconv>

#include "common/strings.hpp"

namespace cppbx::sip {
namespace {

void append_clean(std::string& out, std::string_view text) {
  // Almost every value is clean: one scan, then one bulk append.
  if (text.find('\r') == std::string_view::npos && text.find('\n') == std::string_view::npos) {
    out.append(text);
    return;
  }
  for (char c : text) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
}

void append_number(std::string& out, uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  out.append(digits, end);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  append_clean(out, name);
  out.append(": ");
  append_clean(out, value);
  out.append("\r\n");
}

// Deterministic To tag for responses the caller did not tag: retransmitted
// requests get the same tag, as a stateless element needs (RFC 3261 16.11).
std::string derived_to_tag(const Message& request) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  auto mix = [&hash](std::string_view text) {
    for (char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
  };
  mix(request.call_id());
  mix(request.from().tag());
  mix(request.top_via().branch);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  for (int i = 0; i < 16; ++i) tag.push_back(kHex[(hash >> (i * 4)) & 0xf]);
  return tag;
}

}  // namespace

std::string_view default_reason(int code) {
  switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Notification";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 429: return "Provide Referrer Identity";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "";
  }
}

namespace {
// Appends `raw` + CRLF with `insertion` written before the byte `at` points
// to. False, appending nothing, when `at` is not within `raw` (a folded
// header's parsed values live in the message's arena, not in its raw line).
bool append_with_insertion(std::string& out, std::string_view raw, const char* at, std::string_view insertion) {
  const auto begin = reinterpret_cast<uintptr_t>(raw.data());
  const auto point = reinterpret_cast<uintptr_t>(at);
  if (point < begin || point - begin > raw.size()) return false;
  const size_t offset = point - begin;
  out.append(raw.substr(0, offset));
  out.append(insertion);
  out.append(raw.substr(offset));
  out.append("\r\n");
  return true;
}
}  // namespace

std::string build_response(const Message& request, const ResponseSpec& spec) {
  std::string out;
  out.reserve(512 + request.raw().size() / 2 + spec.body.size());
  out.append("SIP/2.0 ");
  append_number(out, static_cast<uint64_t>(spec.code < 0 ? 0 : spec.code));
  out.push_back(' ');
  append_clean(out, spec.reason.empty() ? default_reason(spec.code) : spec.reason);
  out.append("\r\n");

  bool from_done = false, to_done = false, call_id_done = false, cseq_done = false;
  bool via_done = false;
  for (const Header& header : request.headers()) {
    bool copy = false;
    switch (header.id) {
      case HeaderId::Via:
        copy = via_done || spec.top_via_insert.empty() ||
               !append_with_insertion(out, header.raw, request.top_via().text.data() + spec.top_via_insert_at,
                                      spec.top_via_insert);
        via_done = true;
        break;
      case HeaderId::From: copy = !from_done; from_done = true; break;
      case HeaderId::CallId: copy = !call_id_done; call_id_done = true; break;
      case HeaderId::CSeq: copy = !cseq_done; cseq_done = true; break;
      case HeaderId::To:
        if (!to_done) {
          bool add_tag = spec.code > 100 && request.to().tag().empty() &&
                         header.value == request.to().text;
          // The tag must follow the value itself: a stray CR or spaces left at
          // the end of the line would separate them and break the To header.
          out.append(add_tag ? trim_right(header.raw) : header.raw);
          if (add_tag) {
            out.append(";tag=");
            if (spec.to_tag.empty()) {
              out.append(derived_to_tag(request));
            } else {
              append_clean(out, spec.to_tag);
            }
          }
          out.append("\r\n");
        }
        to_done = true;
        break;
      default: break;
    }
    if (copy) {
      out.append(header.raw);
      out.append("\r\n");
    }
  }
  for (const auto& [name, value] : spec.headers) append_header(out, name, value);
  if (!spec.content_type.empty()) append_header(out, "Content-Type", spec.content_type);
  out.append("Content-Length: ");
  append_number(out, spec.body.size());
  out.append("\r\n\r\n");
  out.append(spec.body);
  return out;
}

MessageEditor::MessageEditor(const Message& message) : message_(message) {
  lines_.reserve(message.headers().size() + 4);
  for (const Header& header : message.headers()) {
    Line line;
    line.header = &header;
    line.id = header.id;
    lines_.push_back(std::move(line));
  }
}

std::string_view MessageEditor::line_name(const Line& line) {
  return line.edited || !line.header ? std::string_view(line.name) : line.header->name;
}

std::string_view MessageEditor::line_value(const Line& line) {
  return line.edited || !line.header ? std::string_view(line.value) : line.header->value;
}

MessageEditor::Line* MessageEditor::first_line(HeaderId id) {
  for (Line& line : lines_) {
    if (!line.removed && line.id == id) return &line;
  }
  return nullptr;
}

void MessageEditor::set_request_uri(std::string_view uri) {
  request_uri_ = uri;
  request_uri_set_ = true;
}

void MessageEditor::prepend_header(std::string_view name, std::string_view value) {
  Line line;
  line.name = name;
  line.value = value;
  line.id = header_id(name);
  line.edited = true;
  lines_.insert(lines_.begin(), std::move(line));
}

void MessageEditor::insert_before_first(HeaderId id, std::string_view name,
                                        std::string_view value) {
  Line line;
  line.name = name;
  line.value = value;
  line.id = header_id(name);
  line.edited = true;
  auto it = lines_.begin();
  while (it != lines_.end() && (it->removed || it->id != id)) ++it;
  lines_.insert(it, std::move(line));
}

void MessageEditor::remove_first(HeaderId id) {
  if (Line* line = first_line(id)) line->removed = true;
}

void MessageEditor::remove_first_value(HeaderId id) {
  Line* line = first_line(id);
  if (!line) return;
  std::vector<std::string_view> items = split_list(line_value(*line));
  if (items.size() <= 1) {
    line->removed = true;
    return;
  }
  // Keep the remaining items exactly as written, from the second one on.
  std::string_view value = line_value(*line);
  const char* rest_begin = items[1].data();
  std::string rest(rest_begin, value.data() + value.size() - rest_begin);
  if (trim(rest).empty()) {  // "a," has nothing after the first value
    line->removed = true;
    return;
  }
  std::string name(line_name(*line));
  line->name = std::move(name);
  line->value = std::move(rest);
  line->edited = true;
}

void MessageEditor::replace_first(HeaderId id, std::string_view value) {
  Line* line = first_line(id);
  if (!line) {
    Line added;
    added.name = header_name(id);
    added.value = value;
    added.id = id;
    added.edited = true;
    lines_.push_back(std::move(added));
    return;
  }
  std::string name(line_name(*line));
  line->name = std::move(name);
  line->value = value;
  line->edited = true;
}

void MessageEditor::set_max_forwards(int value) {
  std::string text;
  append_number(text, static_cast<uint64_t>(value < 0 ? 0 : value));
  replace_first(HeaderId::MaxForwards, text);
}

void MessageEditor::set_body(std::string_view content_type, std::string_view body) {
  content_type_ = content_type;
  body_ = body;
  body_set_ = true;
  if (content_type.empty()) {
    while (Line* line = first_line(HeaderId::ContentType)) line->removed = true;
  } else {
    replace_first(HeaderId::ContentType, content_type);
  }
}

std::string MessageEditor::serialize() const {
  std::string_view body = body_set_ ? std::string_view(body_) : message_.body();
  std::string out;
  out.reserve(message_.raw().size() + 256 + body.size());
  if (message_.is_request()) {
    out.append(message_.method_text());
    out.push_back(' ');
    append_clean(out, request_uri_set_ ? std::string_view(request_uri_) : message_.request_uri_text());
    out.push_back(' ');
    out.append(message_.version());
  } else {
    out.append(message_.version());
    out.push_back(' ');
    append_number(out, static_cast<uint64_t>(message_.status_code()));
    out.push_back(' ');
    out.append(message_.reason_phrase());
  }
  out.append("\r\n");

  bool length_written = false;
  for (const Line& line : lines_) {
    if (line.removed) continue;
    if (line.id == HeaderId::ContentLength) {
      if (length_written) continue;  // one Content-Length, matching the body
      length_written = true;
      auto received = parse_uint32(line_value(line));
      if (line.edited || !line.header || !received || *received != body.size()) {
        out.append(line_name(line));
        out.append(": ");
        append_number(out, body.size());
        out.append("\r\n");
        continue;
      }
    }
    if (line.edited || !line.header) {
      append_header(out, line_name(line), line_value(line));
    } else {
      out.append(line.header->raw);
      out.append("\r\n");
    }
  }
  if (!length_written) {
    out.append("Content-Length: ");
    append_number(out, body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(body);
  return out;
}

}  // namespace cppbx::sip
