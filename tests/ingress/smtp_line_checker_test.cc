// LineChecker: the BDAT content checks, table-driven, and split at every
// position (a CRLF may straddle two chunks).
#include "ingress/smtp_line_checker.h"

#include <gtest/gtest.h>

#include <string>

namespace sg::ingress {
namespace {

struct Case {
  const char* name;
  std::string content;
  bool bare;
  bool too_long;
};

TEST(LineCheckerTest, BareLineEndingsAndLongLinesAtEverySplit) {
  const Case cases[] = {
      {"clean", "Subject: x\r\n\r\nbody\r\n", false, false},
      {"empty", "", false, false},
      {"no final line end", "Subject: x\r\n\r\nbody", false, false},
      {"cr dot cr", "a\r\n\r.\rMAIL FROM:<x@y>\r\n", true, false},
      {"lf dot lf", "a\n.\nb\r\n", true, false},
      {"crlf dot lf", "a\r\n.\nb\r\n", true, false},
      {"lf dot crlf", "a\n.\r\nb\r\n", true, false},
      {"cr cr lf", "a\r\r\n", true, false},
      {"final bare cr", "a\r\nb\r", true, false},
      {"cr in a line", "a\rb\r\n", true, false},
      {"998 octets", std::string(998, 'x') + "\r\n", false, false},
      {"999 octets", std::string(999, 'x') + "\r\n", false, true},
      {"999 octets unterminated", "a\r\n" + std::string(999, 'x'), false, true},
  };
  for (const Case& c : cases) {
    for (size_t split = 0; split <= c.content.size(); ++split) {
      SCOPED_TRACE(std::string(c.name) + " split at " + std::to_string(split));
      LineChecker checker(998);
      checker.Feed(std::string_view(c.content).substr(0, split));
      checker.Feed(std::string_view(c.content).substr(split));
      checker.Finish();
      EXPECT_EQ(checker.bare_line_ending(), c.bare);
      EXPECT_EQ(checker.line_too_long(), c.too_long);
      if (c.content.size() > 200) split += 97;  // long cases: a sample of splits
    }
  }
}

TEST(LineCheckerTest, OneOctetAtATime) {
  const std::string content = "Subject: x\r\n\r\nline\r\n.\r\nmore\r\n";
  LineChecker checker(998);
  for (char c : content) checker.Feed(std::string_view(&c, 1));
  checker.Finish();
  EXPECT_FALSE(checker.bare_line_ending());
  EXPECT_FALSE(checker.line_too_long());
}

}  // namespace
}  // namespace sg::ingress
