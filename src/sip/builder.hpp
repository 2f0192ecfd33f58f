// Building outgoing messages. Responses copy Via, From, To, Call-ID and CSeq
// from the request byte for byte (RFC 3261 8.2.6.2) and add a To tag when the
// request had none. Forwarded requests are produced by MessageEditor, which
// keeps untouched headers as they were received.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sip/message.hpp"

namespace cppbx::sip {

using HeaderField = std::pair<std::string_view, std::string_view>;

struct ResponseSpec {
  int code = 200;
  std::string_view reason;            // empty: the default phrase for code
  std::string_view to_tag;            // added to To when it has no tag and code > 100
  std::vector<HeaderField> headers;   // extra headers, in order
  // Extra headers whose value is a list (one line each), e.g. several Contacts.
  std::string_view content_type;
  std::string_view body;
  // Text inserted into the top Via, `top_via_insert_at` bytes into the
  // request's top_via().text (the RFC 3581 rport/received stamp). Written
  // while the Via is copied, so the response is never searched or shifted.
  std::string_view top_via_insert;
  size_t top_via_insert_at = 0;
};

std::string_view default_reason(int code);

// Serializes a response to `request`.
std::string build_response(const Message& request, const ResponseSpec& spec);

// Edits a received message for forwarding: headers not touched are written
// back byte for byte.
class MessageEditor {
 public:
  explicit MessageEditor(const Message& message);
  void set_request_uri(std::string_view uri);
  void prepend_header(std::string_view name, std::string_view value);  // before the first header
  void insert_before_first(HeaderId id, std::string_view name, std::string_view value);
  void remove_first(HeaderId id);           // whole header line
  void remove_first_value(HeaderId id);     // first comma-separated value (e.g. top Via)
  void replace_first(HeaderId id, std::string_view value);
  void set_max_forwards(int value);         // replaces or adds
  void set_body(std::string_view content_type, std::string_view body);
  std::string serialize() const;

 private:
  // A header line of the output: a received header written back verbatim
  // unless `edited`, in which case `name` and `value` are written instead.
  struct Line {
    const Header* header = nullptr;  // null for inserted lines
    std::string name;
    std::string value;
    HeaderId id = HeaderId::Other;
    bool removed = false;
    bool edited = false;
  };
  Line* first_line(HeaderId id);
  static std::string_view line_name(const Line& line);
  static std::string_view line_value(const Line& line);

  const Message& message_;
  std::string request_uri_;
  bool request_uri_set_ = false;
  std::vector<Line> lines_;
  std::string content_type_;
  std::string body_;
  bool body_set_ = false;
};

}  // namespace cppbx::sip
