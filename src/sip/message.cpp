// Message accessors and the method table. Parsing lives in parser.cpp.
#include "sip/message.hpp"

#include <array>

#include "common/strings.hpp"

namespace cppbx::sip {
namespace {

constexpr std::array<std::string_view, 15> kMethodNames = {
    "", "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE",
    "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"};

}  // namespace

Method method_from_name(std::string_view name) {
  for (size_t i = 1; i < kMethodNames.size(); ++i) {
    if (kMethodNames[i] == name) return static_cast<Method>(i);
  }
  return Method::Unknown;
}

std::string_view method_name(Method m) {
  auto index = static_cast<size_t>(m);
  return index < kMethodNames.size() ? kMethodNames[index] : std::string_view{};
}

// Moving keeps every view valid: the byte buffer is a heap block whose address
// does not change, and std::forward_list's move transfers its nodes without
// moving the strings inside them.
Message::Message() = default;
Message::Message(Message&&) noexcept = default;
Message& Message::operator=(Message&&) noexcept = default;
Message::~Message() = default;

const Header* Message::find(HeaderId id) const {
  for (const Header& header : headers_) {
    if (header.id == id) return &header;
  }
  return nullptr;
}

const Header* Message::find(std::string_view name) const {
  HeaderId id = header_id(name);
  if (id != HeaderId::Other) return find(id);
  for (const Header& header : headers_) {
    if (header.id == HeaderId::Other && iequals(header.name, name)) return &header;
  }
  return nullptr;
}

std::vector<std::string_view> Message::values(HeaderId id) const {
  std::vector<std::string_view> out;
  for (const Header& header : headers_) {
    if (header.id != id) continue;
    if (is_list_header(id)) {
      for (std::string_view item : split_list(header.value)) out.push_back(item);
    } else {
      out.push_back(header.value);
    }
  }
  return out;
}

}  // namespace cppbx::sip
