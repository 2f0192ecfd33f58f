// The SIP message model (RFC 3261 section 7 and 20).
//
// A Message owns the bytes it was parsed from and describes them with views:
// header names and values point into that buffer, so parsing a message copies
// nothing but the small header index. Values that had to be rewritten (folded
// header lines) are kept in an arena owned by the message, so every view stays
// valid for the lifetime of the Message, including after it is moved.
//
// Headers a proxy does not touch are serialized byte for byte from the
// original buffer. The few structured headers the core needs on every message
// (top Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact)
// are parsed once during parse(); everything else is parsed on demand with the helpers
// in uri.hpp and headers.hpp.
#pragma once

#include <cstdint>
#include <forward_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/headers.hpp"
#include "sip/uri.hpp"

namespace cppbx::sip {

enum class Method : uint8_t {
  Unknown, Invite, Ack, Bye, Cancel, Register, Options, Info, Update,
  Prack, Subscribe, Notify, Refer, Message, Publish
};
Method method_from_name(std::string_view name);  // case-sensitive, RFC 3261 7.1
std::string_view method_name(Method m);          // "" for Unknown

// One header line as received. `value` has no leading/trailing whitespace and
// no folding (folded lines are unfolded into the message's arena).
struct Header {
  HeaderId id = HeaderId::Other;
  std::string_view name;   // as written on the wire (may be compact form)
  std::string_view value;
  // The whole header as received ("Name: value", folding included), without
  // the final line break. Used to copy untouched headers byte for byte.
  std::string_view raw;
};

class Message {
 public:
  Message();
  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message();

  bool is_request() const { return is_request_; }
  bool is_response() const { return !is_request_; }

  // Request line.
  Method method() const { return method_; }
  std::string_view method_text() const { return method_text_; }
  std::string_view request_uri_text() const { return request_uri_text_; }
  const Uri& request_uri() const { return request_uri_; }
  std::string_view version() const { return version_; }

  // Status line.
  int status_code() const { return status_code_; }
  std::string_view reason_phrase() const { return reason_phrase_; }

  const std::vector<Header>& headers() const { return headers_; }
  // First header with this id, or nullptr.
  const Header* find(HeaderId id) const;
  // First header whose name matches case-insensitively (for extension headers).
  const Header* find(std::string_view name) const;
  // Every value of a header, with comma-separated lists split (respecting
  // quotes and angle brackets) and multiple header lines concatenated.
  std::vector<std::string_view> values(HeaderId id) const;

  std::string_view body() const { return body_; }

  // Core headers, parsed during parse(). Present on every message that parse()
  // accepted as valid (see ParseResult).
  const Via& top_via() const { return top_via_; }
  const NameAddr& from() const { return from_; }
  const NameAddr& to() const { return to_; }
  std::string_view call_id() const { return call_id_; }
  const CSeq& cseq() const { return cseq_; }
  // -1 when the header is absent.
  int max_forwards() const { return max_forwards_; }
  // Every entry of every Contact header line, in order ("*" is one entry
  // with `star` set); empty when the message has no Contact.
  const std::vector<Contact>& contacts() const { return contacts_; }

  // The whole message as received.
  std::string_view raw() const { return {buffer_.get(), size_}; }

 private:
  friend class Parser;
  std::unique_ptr<char[]> buffer_;
  size_t size_ = 0;
  // Unfolded header values. A forward_list because it allocates nothing
  // while empty (almost every message) and its move steals one pointer;
  // std::deque allocates ~600 bytes even empty and again on every move.
  std::forward_list<std::string> arena_;

  bool is_request_ = true;
  Method method_ = Method::Unknown;
  std::string_view method_text_;
  std::string_view request_uri_text_;
  Uri request_uri_;
  std::string_view version_;
  int status_code_ = 0;
  std::string_view reason_phrase_;

  std::vector<Header> headers_;
  std::string_view body_;

  Via top_via_;
  NameAddr from_;
  NameAddr to_;
  std::string_view call_id_;
  CSeq cseq_;
  int max_forwards_ = -1;
  std::vector<Contact> contacts_;
};

}  // namespace cppbx::sip
