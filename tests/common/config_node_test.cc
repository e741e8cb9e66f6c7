#include "common/config_node.h"

#include <gtest/gtest.h>

#include <limits>

namespace sg::config {
namespace {

char* kEnv[] = {const_cast<char*>("SMG_PORT=2600"),
                const_cast<char*>("SMIMEGATE__QUEUE__PARTITIONS=12"),
                const_cast<char*>("SMIMEGATE__LIST__1__NAME=second"), nullptr};
char* kNoEnv[] = {nullptr};

TEST(ConfigNodeTest, ReadsTypedValuesWithDefaults) {
  auto doc = ConfigDocument::LoadString(
      "a:\n  s: hello\n  i: 42\n  b: yes\n  d: 5m\n  z: 50MB\n  l: [x, y]\n", "t.yaml", kNoEnv);
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  auto a = doc->Root().Map("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a->String("s"), "hello");
  EXPECT_EQ(*a->Int("i", std::nullopt, 0, 100), 42);
  EXPECT_TRUE(*a->Bool("b"));
  EXPECT_EQ(a->Duration("d")->count(), 300000);
  EXPECT_EQ(*a->Size("z"), 50ull * 1024 * 1024);
  EXPECT_EQ(a->StringList("l")->size(), 2u);
  EXPECT_EQ(*a->String("missing", "def"), "def");
  EXPECT_TRUE(doc->CheckNoUnknownKeys().ok());
}

TEST(ConfigNodeTest, WrongTypeNamesKeyLineAndExpectation) {
  auto doc = ConfigDocument::LoadString("ingress:\n  port: abc\n", "t.yaml", kNoEnv);
  ASSERT_TRUE(doc.ok());
  auto r = doc->Root().Map("ingress")->Int("port", 25, 1, 65535);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "config ingress.port (line 2): expected an integer from 1 to 65535, got \"abc\"");
}

TEST(ConfigNodeTest, MissingRequiredKey) {
  auto doc = ConfigDocument::LoadString("ingress:\n  x: 1\n", "t.yaml", kNoEnv);
  ASSERT_TRUE(doc.ok());
  auto r = doc->Root().Map("ingress")->String("name");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("config ingress.name"), std::string::npos);
  EXPECT_NE(r.error().message.find("required key is missing"), std::string::npos);
}

TEST(ConfigNodeTest, UnknownKeyIsReportedWithItsLine) {
  auto doc = ConfigDocument::LoadString("log:\n  level: info\n  colour: red\n", "t.yaml", kNoEnv);
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc->Root().Map("log")->String("level", "info").ok());
  auto s = doc->CheckNoUnknownKeys();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("config log.colour (line 3): unknown key"), std::string::npos)
      << s.error().message;
}

TEST(ConfigNodeTest, InvalidYamlNamesTheLine) {
  auto doc = ConfigDocument::LoadString("a:\n  b: [1, 2\nc: d\n", "t.yaml", kNoEnv);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("not valid YAML"), std::string::npos);
  EXPECT_NE(doc.error().message.find("line"), std::string::npos);
}

TEST(ConfigNodeTest, MissingFileSaysSo) {
  auto doc = ConfigDocument::LoadFile("/nonexistent/smimegate.yaml", kNoEnv);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, ErrorCode::kNotFound);
  EXPECT_NE(doc.error().message.find("/nonexistent/smimegate.yaml"), std::string::npos);
}

TEST(ConfigNodeTest, EnvironmentExpansionAndOverrides) {
  auto doc = ConfigDocument::LoadString(
      "port: ${SMG_PORT:-2525}\nother: ${UNSET_VAR:-7}\nqueue:\n  partitions: 4\n"
      "list:\n  - name: first\n  - name: x\n",
      "t.yaml", kEnv);
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  auto root = doc->Root();
  EXPECT_EQ(*root.Int("port", std::nullopt, 1, 65535), 2600);
  EXPECT_EQ(*root.Int("other", std::nullopt, 1, 65535), 7);
  EXPECT_EQ(*root.Map("queue")->Int("partitions", 1, 1, 100), 12);
  auto list = root.List("list");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*(*list)[1].String("name"), "second");
}

TEST(ConfigNodeTest, UnsetVariableWithoutDefaultIsAnError) {
  auto doc = ConfigDocument::LoadString("port: ${NOPE_NOT_SET}\n", "t.yaml", kNoEnv);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("NOPE_NOT_SET is not set"), std::string::npos);
}

TEST(ConfigNodeTest, EnumAndDurationErrors) {
  auto doc = ConfigDocument::LoadString("a: purple\nd: 5 weeks\nz: lots\n", "t.yaml", kNoEnv);
  ASSERT_TRUE(doc.ok());
  auto e = doc->Root().Enum("a", {"red", "blue"});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("expected one of red, blue"), std::string::npos);
  EXPECT_FALSE(doc->Root().Duration("d").ok());
  EXPECT_FALSE(doc->Root().Size("z").ok());
}

// Found by the config fuzz target: a duration whose milliseconds overflow
// int64 was undefined behaviour (and came out as a wrapped, possibly negative
// value); a size overflowing uint64 wrapped to a small one.
TEST(ConfigNodeTest, DurationAndSizeThatOverflowAreErrors) {
  auto doc = ConfigDocument::LoadString(
      "d: 2354410005013317402m\nbig: 9223372036854775807d\nok: 36500d\n"
      "z: 20000000000G\nzmax: 18446744073709551615\n",
      "t.yaml", kNoEnv);
  ASSERT_TRUE(doc.ok());
  auto d = doc->Root().Duration("d");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("too long"), std::string::npos) << d.error().message;
  EXPECT_FALSE(doc->Root().Duration("big").ok());
  ASSERT_TRUE(doc->Root().Duration("ok").ok());
  EXPECT_EQ(doc->Root().Duration("ok")->count(), int64_t{36500} * 86'400'000);
  auto z = doc->Root().Size("z");
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.error().message.find("too large"), std::string::npos) << z.error().message;
  ASSERT_TRUE(doc->Root().Size("zmax").ok());
  EXPECT_EQ(*doc->Root().Size("zmax"), std::numeric_limits<uint64_t>::max());
}

}  // namespace
}  // namespace sg::config
