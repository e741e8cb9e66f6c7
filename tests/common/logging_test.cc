// Log formats (issue 16 point 8): JSON lines with fields as keys, valid for
// any bytes; the text format; sg::log::Event.
#include "common/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <sstream>

#include "common/log_event.h"
#include "tests/support/captured_log.h"

namespace sg {
namespace {

// The default logger writing to a string with the given format
// (tests/support/captured_log.h), read as exactly one JSON line.
class CapturedLog : public sg::testing::CapturedLog {
 public:
  using sg::testing::CapturedLog::CapturedLog;
  nlohmann::json OnlyJsonLine() const {
    std::string s = Text();
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1) << s;
    return nlohmann::json::parse(s);  // throws (fails the test) on invalid JSON or UTF-8
  }
};

TEST(LogJson, EventFieldsAreKeys) {
  CapturedLog log("json");
  log::Event("policy")
      .Field("message_id", "q1")
      .Field("direction", "outbound")
      .Field("rcpt", std::string("bob@example.org"))
      .Field("action", "signed")
      .Field("rule", "default")
      .Field("form", "signed")
      .Field("attempt", 3)
      .Field("cached", true)
      .Info();
  auto j = log.OnlyJsonLine();
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["logger"], "smimegate");
  EXPECT_EQ(j["stage"], "policy");
  EXPECT_EQ(j["message_id"], "q1");
  EXPECT_EQ(j["direction"], "outbound");
  EXPECT_EQ(j["rcpt"], "bob@example.org");
  EXPECT_EQ(j["action"], "signed");
  EXPECT_EQ(j["rule"], "default");
  EXPECT_EQ(j["form"], "signed");
  EXPECT_EQ(j["attempt"], 3);
  EXPECT_EQ(j["cached"], true);
  EXPECT_FALSE(j.contains("msg"));  // no message text given
  EXPECT_TRUE(j["ts"].get<std::string>().ends_with("Z"));
}

// A hostile recipient: quotes, a line break that would forge a second line,
// NUL, invalid UTF-8. The line stays one valid JSON object whose value is
// what arrived (invalid UTF-8 as U+FFFD).
TEST(LogJson, AnyBytesGiveValidJson) {
  const std::string hostile = std::string("a\"b\\c\r\n{\"level\":\"crit\"}\x01", 24) +
                              std::string("\0\xff\xc3(\xed\xa0\x80 \xf0\x9f\x94\x92", 12);
  {
    CapturedLog log("json");
    log::Event("policy").Field("rcpt", hostile).Field("level", "forged").Warn(hostile);
    auto j = log.OnlyJsonLine();
    EXPECT_EQ(j["level"], "warning");  // a field cannot overwrite the line's own keys
    EXPECT_EQ(j["field_level"], "forged");
    const std::string rcpt = j["rcpt"];
    EXPECT_EQ(rcpt.rfind("a\"b\\c\r\n{\"level\":\"crit\"}\x01", 0), 0u) << rcpt;
    EXPECT_NE(rcpt.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD for the bad bytes
    EXPECT_NE(rcpt.find("\xf0\x9f\x94\x92"), std::string::npos);  // valid UTF-8 kept
    EXPECT_EQ(j["msg"], j["rcpt"]);
  }
  {
    CapturedLog log("json");
    spdlog::info("plain line with {}", hostile);  // not an Event: the text is msg
    auto j = log.OnlyJsonLine();
    EXPECT_EQ(j["msg"].get<std::string>().rfind("plain line with a\"b", 0), 0u);
  }
}

TEST(LogText, EventIsKeyValueOnOneLine) {
  CapturedLog log("text");
  log::Event("policy")
      .Field("message_id", "q1")
      .Field("from", "")
      .Field("rcpt", "bob@example.org")
      .Field("reason", "no key\r\nforged=line")
      .Field("raw", std::string("\xff", 1))
      .Info("decided");
  const std::string out = log.Text();
  EXPECT_NE(out.find(" info  policy message_id=q1 from=\"\" rcpt=bob@example.org "
                     "reason=\"no key\\r\\nforged=line\" raw=\"\\xff\": decided\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST(LogFormat, UnknownFormatIsAnError) {
  auto f = MakeLogFormatter("xml");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("expected text or json"), std::string::npos);
}

TEST(LogEvent, NothingIsFormattedBelowTheLevel) {
  CapturedLog log("json");
  log::Event("policy").Field("rcpt", "x").Debug();
  EXPECT_EQ(log.Text(), "");
}

}  // namespace
}  // namespace sg
