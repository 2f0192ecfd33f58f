// Whatever the input, the parser must not crash, hang or hand out views
// outside the message. Deterministic stand-in for the fuzzer (which runs
// separately, see fuzz/run_fuzzer.sh): every prefix of every torture message
// and a few thousand seeded mutations. Also checks that MessageEditor writes
// every valid torture message back byte for byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sip/builder.hpp"
#include "sip/parser.hpp"

namespace cppbx::sip {
namespace {

std::vector<std::string> torture_messages() {
  std::vector<std::string> out;
  for (const char* folder : {"rfc4475", "rfc5118"}) {
    auto dir = std::filesystem::path(CPPBX_SHARED_DIR) / "torture" / folder;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".dat") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      out.push_back(content.str());
    }
  }
  return out;
}

bool inside(std::string_view outer, std::string_view inner) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

void check_invariants(std::string_view input) {
  ParseResult r = parse_message(input);
  if (r.message) {
    const Message& m = *r.message;
    EXPECT_LE(m.raw().size(), input.size());
    EXPECT_TRUE(inside(m.raw(), m.body()));
    for (const Header& h : m.headers()) EXPECT_TRUE(inside(m.raw(), h.raw));
  }
  if (r.status == ParseStatus::Ok) {
    EXPECT_TRUE(r.message != nullptr);
  }
  if (r.can_respond) {
    EXPECT_TRUE(r.message && r.message->is_request());
  }
  auto length = frame_length(input);
  if (length) {
    EXPECT_LE(*length, input.size());
  }
}

TEST(Robustness, EveryPrefixOfEveryTortureMessage) {
  auto messages = torture_messages();
  ASSERT_GT(messages.size(), 50u);
  for (const std::string& message : messages) {
    for (size_t n = 0; n <= message.size(); ++n) check_invariants(std::string_view(message).substr(0, n));
  }
}

TEST(Robustness, SeededMutations) {
  auto messages = torture_messages();
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char interesting[] = {'\r', '\n', ' ', '\t', ':', ';', ',', '"', '\\', '<', '>', '[', ']',
                              '@', '%', '=', '?', '0', '\0', '\xff'};
  for (int round = 0; round < 4000; ++round) {
    std::string text = messages[next() % messages.size()];
    int edits = 1 + static_cast<int>(next() % 8);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t at = next() % text.size();
      switch (next() % 3) {
        case 0: text[at] = interesting[next() % sizeof interesting]; break;
        case 1: text.erase(at, 1 + next() % 16); break;
        default: text.insert(at, std::string(1 + next() % 4, interesting[next() % sizeof interesting]));
      }
    }
    check_invariants(text);
  }
}

TEST(Robustness, EditorRoundTripsValidTortureMessagesByteForByte) {
  size_t checked = 0;
  for (const std::string& text : torture_messages()) {
    ParseResult r = parse_message(text);
    if (r.status != ParseStatus::Ok) continue;
    const Message& m = *r.message;
    const Header* length = m.find(HeaderId::ContentLength);
    if (!length) continue;  // the editor adds one, so no byte-for-byte copy
    EXPECT_EQ(MessageEditor(m).serialize(), m.raw());
    ++checked;
  }
  EXPECT_GT(checked, 30u);
}

TEST(Robustness, HugeInputsStayBounded) {
  std::string many_headers = "OPTIONS sip:x@h SIP/2.0\r\n";
  for (int i = 0; i < 100000; ++i) many_headers += "X: y\r\n";
  ParseResult r = parse_message(many_headers);
  EXPECT_EQ(r.status, ParseStatus::TooLarge);
  EXPECT_FALSE(frame_length(many_headers));

  std::string long_line = "OPTIONS sip:x@h SIP/2.0\r\nX: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse_message(long_line).status, ParseStatus::TooLarge);
  EXPECT_FALSE(frame_length(long_line));

  std::string deep_folding = "OPTIONS sip:x@h SIP/2.0\r\nX: a\r\n";
  for (int i = 0; i < 10000; ++i) deep_folding += " b\r\n";
  ParseResult folded = parse_message(deep_folding + "\r\n");
  ASSERT_TRUE(folded.message);
  EXPECT_EQ(folded.message->find("X")->value.size(), 1u + 2u * 10000u);
}

}  // namespace
}  // namespace cppbx::sip
