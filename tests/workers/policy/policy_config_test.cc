// workers.policy: defaults, rules, and the errors a user reads.
#include <gtest/gtest.h>

#include "workers/policy/policy_config.h"

namespace sg::workers {
namespace {

Result<PolicyConfig> Parse(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  auto section = doc->Root().Map("policy");
  if (!section.ok()) return section.error();
  auto c = ParsePolicyConfig(*section, {"Example.COM"});
  if (!c.ok()) return c;
  auto unknown = doc->CheckNoUnknownKeys();
  if (!unknown.ok()) return unknown.error();
  return c;
}

TEST(PolicyConfig, Defaults) {
  auto c = Parse("policy: {}\n");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->rules.empty());
  EXPECT_FALSE(c->web_encryption);
  EXPECT_EQ(c->postmaster, "postmaster@localhost");
  EXPECT_EQ(c->hosted_domains, std::vector<std::string>{"example.com"});
}

TEST(PolicyConfig, RulesMatchAddressBeforeDomain) {
  auto c = Parse(
      "policy:\n  rules:\n    - {match: Partner.Example, action: force_encrypt}\n"
      "    - {match: bob@partner.example, action: exempt}\n"
      "  dsn: {reporting_mta: gw.example.com}\n");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  ASSERT_EQ(c->rules.size(), 2u);
  EXPECT_EQ(FindAdminRule(*c, "BOB@partner.example")->action, AdminRule::Action::kExempt);
  EXPECT_EQ(FindAdminRule(*c, "ann@partner.example")->action, AdminRule::Action::kForceEncrypt);
  EXPECT_EQ(FindAdminRule(*c, "ann@sub.partner.example"), nullptr);
  EXPECT_EQ(c->postmaster, "postmaster@gw.example.com");
}

TEST(PolicyConfig, Errors) {
  auto bad_action = Parse("policy:\n  rules:\n    - {match: a.example, action: encrypt}\n");
  ASSERT_FALSE(bad_action.ok());
  EXPECT_NE(bad_action.error().message.find("action"), std::string::npos);
  auto bad_match = Parse("policy:\n  rules:\n    - {match: 'a b', action: exempt}\n");
  ASSERT_FALSE(bad_match.ok());
  EXPECT_NE(bad_match.error().message.find("match"), std::string::npos);
  auto unknown = Parse("policy:\n  rulez: []\n");
  ASSERT_FALSE(unknown.ok());
}

}  // namespace
}  // namespace sg::workers
