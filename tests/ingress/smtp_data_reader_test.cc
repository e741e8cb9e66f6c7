// DATA state machine: dot-unstuffing, the only terminator, the SMTP
// smuggling variants, line and size limits, and feeding in every split.
#include "ingress/smtp_data_reader.h"

#include <gtest/gtest.h>

namespace sg::ingress {
namespace {

struct ReadRun {
  bool done;
  size_t consumed;
  DataReader::Outcome outcome;
  std::string message;
};

ReadRun Feed(const std::string& in, uint64_t max = 1 << 20, size_t line = 998) {
  DataReader r(max, line);
  size_t n = r.Feed(in);
  return ReadRun{r.done(), n, r.outcome(), r.message()};
}

TEST(DataReader, EndsOnlyAtCrLfDotCrLf) {
  ReadRun r = Feed("Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b.c>\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.outcome, DataReader::Outcome::kOk);
  EXPECT_EQ(r.message, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(r.consumed, std::string("Subject: x\r\n\r\nbody\r\n.\r\n").size());
}

TEST(DataReader, EmptyMessage) {
  ReadRun r = Feed(".\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.message, "");
}

TEST(DataReader, DotUnstuffing) {
  ReadRun r = Feed("..leading dot\r\n...\r\n.x\r\nmid.dle\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.message, ".leading dot\r\n..\r\nx\r\nmid.dle\r\n");
}

TEST(DataReader, SmugglingVariantsNeverTerminate) {
  // Each hides a "second message" behind a non-standard end-of-data; none may
  // end the data, and each marks the message as malformed.
  const char* variants[] = {
      "a\n.\nMAIL FROM:<evil@x>\r\n",       // bare LF dot bare LF
      "a\r\n.\nMAIL FROM:<evil@x>\r\n",     // CRLF dot LF
      "a\n.\r\nMAIL FROM:<evil@x>\r\n",     // LF dot CRLF
      "a\r.\rMAIL FROM:<evil@x>\r\n",       // bare CR dot bare CR
      "a\r.\r\nMAIL FROM:<evil@x>\r\n",     // CR dot CRLF
      "a\r\n.\rMAIL FROM:<evil@x>\r\n",     // CRLF dot CR
      "a\r\n\n.\n\nMAIL FROM:<evil@x>\r\n",
  };
  for (const char* v : variants) {
    SCOPED_TRACE(::testing::PrintToString(std::string(v)));
    std::string in = v;
    ReadRun r = Feed(in);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.consumed, in.size());
    EXPECT_EQ(r.outcome, DataReader::Outcome::kBareLineEnding);
    // The real terminator then ends it, still flagged.
    DataReader reader(1 << 20, 998);
    reader.Feed(in + "\r\n.\r\n");
    EXPECT_TRUE(reader.done());
    EXPECT_EQ(reader.outcome(), DataReader::Outcome::kBareLineEnding);
  }
}

TEST(DataReader, EightBitContentIsKept) {
  static const char kIn[] = "caf\xc3\xa9 \xff\x00\x01\r\n.\r\n";
  std::string in(kIn, sizeof kIn - 1);
  DataReader reader(1 << 20, 998);
  EXPECT_EQ(reader.Feed(in), in.size());
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.message(), in.substr(0, in.size() - 3));
}

TEST(DataReader, LineLengthLimit) {
  std::string ok(998, 'x');
  EXPECT_EQ(Feed(ok + "\r\n.\r\n").outcome, DataReader::Outcome::kOk);
  std::string longer(999, 'x');
  ReadRun r = Feed(longer + "\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.outcome, DataReader::Outcome::kLineTooLong);
}

TEST(DataReader, SizeLimitKeepsScanning) {
  std::string body(100, 'x');
  ReadRun r = Feed(body + "\r\n" + body + "\r\n.\r\nQUIT\r\n", 150);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.outcome, DataReader::Outcome::kTooBig);
  EXPECT_TRUE(r.message.empty());
  EXPECT_EQ(Feed(body + "\r\n.\r\n", 102).outcome, DataReader::Outcome::kOk);
  EXPECT_EQ(Feed(body + "\r\n.\r\n", 101).outcome, DataReader::Outcome::kTooBig);
}

TEST(DataReader, EverySplitGivesTheSameResult) {
  const std::string in = "Subject: t\r\n\r\n..x\r\nline\r\n.\r\nNEXT";
  const ReadRun whole = Feed(in);
  for (size_t split = 0; split <= in.size(); ++split) {
    for (size_t split2 = split; split2 <= in.size(); ++split2) {
      DataReader r(1 << 20, 998);
      size_t n = r.Feed(std::string_view(in).substr(0, split));
      if (!r.done()) n += r.Feed(std::string_view(in).substr(split, split2 - split));
      if (!r.done()) n += r.Feed(std::string_view(in).substr(split2));
      ASSERT_TRUE(r.done()) << split << "," << split2;
      EXPECT_EQ(n, whole.consumed);
      EXPECT_EQ(r.message(), whole.message);
    }
  }
}

TEST(DataReader, ByteAtATime) {
  const std::string in = "a\r\n..\r\n\r\n.\r\n";
  DataReader r(1 << 20, 998);
  for (char c : in) {
    ASSERT_FALSE(r.done());
    EXPECT_EQ(r.Feed(std::string_view(&c, 1)), 1u);
  }
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.message(), "a\r\n.\r\n\r\n");
  EXPECT_EQ(r.outcome(), DataReader::Outcome::kOk);
}

}  // namespace
}  // namespace sg::ingress
