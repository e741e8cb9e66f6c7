// Unit tests of the load generator's wire-level pieces: reply parsing, DATA
// scanning (dot-stuffing, terminator split anywhere), header extraction,
// message rendering, percentiles, host:port parsing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/e2e/loadgen/loadgen_data_scanner.h"
#include "bench/e2e/loadgen/loadgen_message.h"
#include "bench/e2e/loadgen/loadgen_options.h"
#include "bench/e2e/loadgen/loadgen_reply_parser.h"
#include "bench/e2e/loadgen/loadgen_stats.h"

namespace sg::bench::loadgen {
namespace {

std::vector<int> FeedAll(ReplyParser& p, const std::string& s, size_t chunk, bool* ok) {
  std::vector<int> codes;
  *ok = true;
  for (size_t i = 0; i < s.size() && *ok; i += chunk) {
    std::string part = s.substr(i, chunk);
    *ok = p.Feed(part.data(), part.size(), [&](int c) { codes.push_back(c); });
  }
  return codes;
}

TEST(ReplyParser, MultiLineAndPipelinedRepliesInOrderAtEverySplit) {
  const std::string wire =
      "220 hi\r\n250-sink\r\n250-PIPELINING\r\n250 SIZE 10\r\n250 ok\r\n550 5.1.1 no\r\n354 go\n";
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    ReplyParser p;
    bool ok = false;
    auto codes = FeedAll(p, wire, chunk, &ok);
    ASSERT_TRUE(ok) << chunk;
    EXPECT_EQ(codes, (std::vector<int>{220, 250, 250, 550, 354})) << chunk;
  }
}

TEST(ReplyParser, RejectsMalformedReplies) {
  for (std::string bad : {"2x0 no\r\n", "250x\r\n", "25\r\n", "250-a\r\n251 b\r\n", "999 x\r\n"}) {
    ReplyParser p;
    bool ok = true;
    FeedAll(p, bad, bad.size(), &ok);
    EXPECT_FALSE(ok) << bad;
  }
  ReplyParser p;
  std::string longline(ReplyParser::kMaxLine + 10, '2');
  bool ok = true;
  FeedAll(p, longline, 100, &ok);
  EXPECT_FALSE(ok);
}

struct Scanned {
  std::string content;
  size_t consumed = 0;
  bool done = false;
};

Scanned Scan(const std::string& wire, size_t chunk) {
  DataScanner s;
  Scanned r;
  for (size_t i = 0; i < wire.size() && !s.done(); i += chunk) {
    std::string part = wire.substr(i, chunk);
    size_t used =
        s.Feed(part.data(), part.size(), [&](const char* d, size_t n) { r.content.append(d, n); });
    r.consumed += used;
  }
  r.done = s.done();
  return r;
}

TEST(DataScanner, UnstuffsAndStopsAtTerminatorAtEverySplit) {
  const std::string wire =
      "Subject: x\r\n\r\n..leading dot\r\n.\r \r\nmid . line\r\n...\r\n.\r\nQUIT\r\n";
  const std::string want = "Subject: x\r\n\r\n.leading dot\r\n\r \r\nmid . line\r\n..\r\n";
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    Scanned r = Scan(wire, chunk);
    EXPECT_TRUE(r.done) << chunk;
    EXPECT_EQ(r.content, want) << chunk;
    EXPECT_EQ(r.consumed, wire.size() - std::string("QUIT\r\n").size()) << chunk;
  }
}

TEST(DataScanner, EmptyMessageAndNoTerminator) {
  Scanned r = Scan(".\r\n", 3);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.content, "");
  r = Scan("a\r\n.x\r\n", 2);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.content, "a\r\nx\r\n");
}

TEST(HeaderCollector, StopsAtEmptyLineAcrossSlices) {
  const std::string msg = "A: 1\r\nX-Bench-Id: r-1\r\n\r\nX-Bench-Id: body\r\n";
  for (size_t chunk = 1; chunk <= msg.size(); ++chunk) {
    HeaderCollector h;
    for (size_t i = 0; i < msg.size(); i += chunk) {
      std::string part = msg.substr(i, chunk);
      h.Append(part.data(), part.size());
    }
    ASSERT_TRUE(h.complete());
    EXPECT_EQ(h.header(), "A: 1\r\nX-Bench-Id: r-1\r\n") << chunk;
  }
}

TEST(FindBenchId, HeaderOnlyCaseInsensitiveUnfolded) {
  EXPECT_EQ(FindBenchId("From: a\r\nx-bench-ID:  run-7 \r\n"), "run-7");
  EXPECT_EQ(FindBenchId("From: a\r\nX-Bench-Id:\r\n run-8\r\n"), "run-8");
  EXPECT_EQ(FindBenchId("From: a\r\n X-Bench-Id: folded-into-from\r\n"), std::nullopt);
  EXPECT_EQ(FindBenchId("X-Bench-Idx: no\r\n"), std::nullopt);
  EXPECT_EQ(FindBenchId(""), std::nullopt);
  EXPECT_EQ(ParseBenchId("run-x-12", "run-x"), 12u);
  EXPECT_EQ(ParseBenchId("other-12", "run-x"), std::nullopt);
  EXPECT_EQ(ParseBenchId("run-x-", "run-x"), std::nullopt);
  EXPECT_EQ(ParseBenchId("run-x-1a", "run-x"), std::nullopt);
}

TEST(Message, CrlfAndDotStuffing) {
  EXPECT_EQ(NormalizeCrlf("a\nb\r\nc"), "a\r\nb\r\nc\r\n");
  EXPECT_EQ(NormalizeCrlf("a\r\n"), "a\r\n");
  EXPECT_EQ(DotStuff(".a\r\nb.\r\n..\r\n"), "..a\r\nb.\r\n...\r\n");
}

std::string Joined(const MessageFactory& f, uint64_t seq) {
  std::string scratch;
  uv_buf_t bufs[4];
  int n = f.Render(seq, scratch, bufs);
  std::string wire;
  for (int i = 0; i < n; ++i) wire.append(bufs[i].base, bufs[i].len);
  return wire;
}

TEST(Message, GeneratedMessageRoundTripsThroughTheScanner) {
  MessageFactory f({"run", "a@b.example", {"x@y.example", "z@y.example"}, 10240, std::nullopt});
  std::string wire = Joined(f, 3);
  Scanned r = Scan(wire, 1000);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(r.content, f.Unstuffed(3));
  EXPECT_NEAR(static_cast<double>(r.content.size()), 10240.0, 100.0);
  auto count = [](const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_GT(count(r.content, "\r\n."), 10u) << "body exercises dot-stuffing";
  EXPECT_EQ(count(wire, "\r\n.."), count(r.content, "\r\n."));
  EXPECT_NE(r.content.find("To: <z@y.example>"), std::string::npos);
  HeaderCollector h;
  h.Append(r.content.data(), r.content.size());
  EXPECT_EQ(FindBenchId(h.header()), "run-3");
  size_t pos = 0;
  while (pos < r.content.size()) {
    size_t nl = r.content.find("\r\n", pos);
    ASSERT_NE(nl, std::string::npos);
    EXPECT_LE(nl - pos, 78u);
    pos = nl + 2;
  }
}

TEST(Message, TemplateGetsBenchIdAsFirstLine) {
  MessageFactory f({"run", "a@b", {"c@d"}, 1, std::string("Subject: t\n\n.dot\nbody")});
  Scanned r = Scan(Joined(f, 0), 7);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.content, "X-Bench-Id: run-0\r\nSubject: t\r\n\r\n.dot\r\nbody\r\n");
}

TEST(Percentiles, NearestRank) {
  std::vector<int64_t> v;
  for (int i = 1000; i >= 1; --i) v.push_back(i * 1000000LL);  // 1..1000 ms
  Percentiles p = ComputePercentiles(v);
  EXPECT_DOUBLE_EQ(p.p50_ms, 500);
  EXPECT_DOUBLE_EQ(p.p99_ms, 990);
  EXPECT_DOUBLE_EQ(p.p999_ms, 999);
  EXPECT_DOUBLE_EQ(p.max_ms, 1000);
  std::vector<int64_t> empty;
  EXPECT_EQ(ComputePercentiles(empty).count, 0u);
}

TEST(HostPort, Parses) {
  auto a = ParseHostPort("127.0.0.1:2525");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 2525);
  auto b = ParseHostPort("[::1]:25");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  for (const char* bad : {"127.0.0.1", ":25", "::1:25", "h:99999", "h:2x", "[::1]25"}) {
    EXPECT_FALSE(ParseHostPort(bad)) << bad;
  }
}

}  // namespace
}  // namespace sg::bench::loadgen
