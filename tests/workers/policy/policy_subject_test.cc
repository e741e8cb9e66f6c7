// Subject tags: matching (case, position, RFC 2047) and removal; marks.
#include <gtest/gtest.h>

#include "tests/workers/policy/policy_test_util.h"
#include "workers/policy/policy_subject.h"

namespace sg::workers::testing {
namespace {

struct TagCase {
  std::string raw;
  std::string tags;     // SubjectTags::Names()
  std::string cleaned;  // decoded text after removal; "=" when unchanged
};

class SubjectTagTest : public ::testing::TestWithParam<TagCase> {};

TEST_P(SubjectTagTest, Parses) {
  const auto& c = GetParam();
  ParsedSubject p = ParseSubject(c.raw);
  EXPECT_EQ(p.tags.Names(), c.tags);
  if (c.cleaned == "=") {
    EXPECT_FALSE(p.cleaned.has_value());
  } else {
    ASSERT_TRUE(p.cleaned.has_value());
    EXPECT_EQ(DecodeSubject(*p.cleaned), c.cleaned);
    EXPECT_EQ(p.cleaned->find_first_of("\r\n"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tags, SubjectTagTest,
    ::testing::Values(
        TagCase{"Hello", "", "="}, TagCase{"[confidential] Hello", "confidential", "Hello"},
        TagCase{"Hello [CONFIDENTIAL]", "confidential", "Hello"},
        TagCase{"Re: a [Confidential] b", "confidential", "Re: a b"},
        TagCase{"[noenc][nosign] x", "noenc,nosign", "x"}, TagCase{"[plain]", "plain", ""},
        TagCase{"[PlAiN] [plain] twice", "plain", "twice"},
        TagCase{"[confidentia] not a tag", "", "="}, TagCase{"[secure] x", "", "="},
        TagCase{"=?utf-8?q?=5Bnoenc=5D_Gr=C3=BC=C3=9Fe?=", "noenc", "Grüße"},
        TagCase{"=?ISO-8859-1?Q?=5BNOSIGN=5D_caf=E9?=", "nosign", "café"},
        TagCase{"=?utf-8?b?W3BsYWluXSBoaQ==?=", "plain", "hi"},
        TagCase{"Grüße [confidential]", "confidential", "Grüße"},
        TagCase{"=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "", "="}));

TEST(SubjectMark, PrependsOutsideEncodedWords) {
  EXPECT_EQ(MarkSubject("[secure]", "=?utf-8?q?Gr=C3=BC=C3=9Fe?="),
            "[secure] =?utf-8?q?Gr=C3=BC=C3=9Fe?=");
  EXPECT_EQ(MarkSubject("[signed OK]", ""), "[signed OK]");
}

}  // namespace
}  // namespace sg::workers::testing
