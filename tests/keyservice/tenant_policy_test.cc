// Per-tenant policy overrides and branding in the keyservice registry
// (keyservice/tenant_policy.h, docs/tenants.md "Policy", "Branding"):
// syntax and limits, persistence, change events, and the table the
// workers follow (TenantRouting: policies of tenants with an override).
#include "keyservice/tenant_policy.h"

#include <gtest/gtest.h>

#include <functional>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using sg::testing::FakeClock;

std::set<std::string> Labels() { return {"default", "cmp.example"}; }
std::string Png() { return std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, 'x'); }

TenantPolicy Policy(const std::string& tenant) {
  TenantPolicy p;
  p.tenant = tenant;
  return p;
}

TEST(TenantPolicySyntax, NormalisesValues) {
  TenantPolicy p = Policy("acme");
  p.web_encryption = " ON ";
  p.strip_tags = "inherit";
  p.obscure_subject = " On";
  p.rules = {
      {"Partner.EXAMPLE", "force_encrypt"}, {"CEO@Other.example", "Exempt"}, {"x.example", ""}};
  p.tags_off = {"plain", "NOENC", "plain"};
  p.ca_backend = "CMP.example";
  auto n = NormalizeTenantPolicy(p, Labels());
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(n->web_encryption, "on");
  EXPECT_EQ(n->strip_tags, "");
  EXPECT_EQ(n->obscure_subject, "on");
  ASSERT_EQ(n->rules.size(), 3u);
  EXPECT_EQ(n->rules[0].match, "partner.example");
  EXPECT_EQ(n->rules[1].match, "ceo@other.example");
  EXPECT_EQ(n->rules[1].action, "exempt");
  EXPECT_EQ(n->rules[2].action, "force_encrypt") << "the default action";
  EXPECT_EQ(n->tags_off, (std::vector<std::string>{"noenc", "plain"}));
  EXPECT_EQ(n->ca_backend, "cmp.example");
}

TEST(TenantPolicySyntax, RefusesBadValuesNamingTheField) {
  struct Case {
    const char* what;
    TenantPolicy policy;
    const char* message;
  };
  auto with = [](auto f) {
    TenantPolicy p = Policy("acme");
    f(p);
    return p;
  };
  const std::vector<Case> cases = {
      {"switch", with([](TenantPolicy& p) { p.web_encryption = "yes"; }), "web_encryption"},
      {"strip", with([](TenantPolicy& p) { p.strip_tags = "maybe"; }), "strip_tags"},
      {"obscure", with([](TenantPolicy& p) { p.obscure_subject = "[...]"; }), "obscure_subject"},
      {"match", with([](TenantPolicy& p) {
         p.rules = {{"not a domain", "exempt"}};
       }),
       "rules[0] match"},
      {"empty match", with([](TenantPolicy& p) {
         p.rules = {{"", "exempt"}};
       }),
       "rules[0] match"},
      {"action", with([](TenantPolicy& p) {
         p.rules = {{"a.example", "encrypt"}};
       }),
       "rules[0] action"},
      {"duplicate", with([](TenantPolicy& p) {
         p.rules = {{"a.example", "exempt"}, {"A.example", "force_encrypt"}};
       }),
       "a second rule"},
      {"tag", with([](TenantPolicy& p) { p.tags_off = {"secure"}; }), "tags_off"},
      {"ca", with([](TenantPolicy& p) { p.ca_backend = "nosuch"; }), "not a configured CA"},
  };
  for (const auto& c : cases) {
    auto r = NormalizeTenantPolicy(c.policy, Labels());
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.what;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.what << ": " << r.error().message;
  }
  TenantPolicy many = Policy("acme");
  for (size_t i = 0; i <= kMaxTenantRules; ++i) {
    many.rules.push_back({"d" + std::to_string(i) + ".example", "exempt"});
  }
  EXPECT_FALSE(NormalizeTenantPolicy(many, Labels()).ok());
}

TEST(TenantBrandingSyntax, ChecksColourAddressAndLogo) {
  TenantBranding b;
  b.tenant = "acme";
  b.display_name = "ACME Secure Mail";
  b.sender_address = "Notify@ACME.example";
  b.color = "#0A5FB4";
  b.logo = Png();
  auto ok = NormalizeTenantBranding(b);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->color, "#0a5fb4");
  EXPECT_EQ(ok->sender_address, "notify@acme.example");
  EXPECT_EQ(ok->logo_type, "image/png") << "the type comes from the content";

  TenantBranding svg = b;
  svg.logo = R"(<svg xmlns="http://www.w3.org/2000/svg" width="10"><rect fill="#fff"/></svg>)";
  EXPECT_EQ(NormalizeTenantBranding(svg)->logo_type, "image/svg+xml");

  struct Case {
    const char* what;
    std::function<void(TenantBranding&)> change;
  };
  const std::vector<Case> bad = {
      {"colour", [](TenantBranding& x) { x.color = "blue"; }},
      {"short colour", [](TenantBranding& x) { x.color = "#fff"; }},
      {"address", [](TenantBranding& x) { x.sender_address = "not an address"; }},
      {"control", [](TenantBranding& x) { x.display_name = "a\nb"; }},
      {"size", [](TenantBranding& x) { x.logo = Png() + std::string(kMaxLogoBytes, 'x'); }},
      {"gif", [](TenantBranding& x) { x.logo = "GIF89a...."; }},
      {"script", [](TenantBranding& x) { x.logo = "<svg><script>alert(1)</script></svg>"; }},
      {"event", [](TenantBranding& x) { x.logo = R"x(<svg><rect onload="x()"/></svg>)x"; }},
      {"declared", [](TenantBranding& x) { x.logo_type = "image/svg+xml"; }},
  };
  for (const auto& c : bad) {
    TenantBranding x = b;
    c.change(x);
    auto r = NormalizeTenantBranding(x);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.what;
    EXPECT_NE(r.error().message.find("branding"), std::string::npos) << r.error().message;
  }
}

class TenantPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TestConfig(dir_.path());
    Open();
    ASSERT_TRUE(ks_->TenantAdd(Tenant{"acme", "ACME", ""}).ok());
    ASSERT_TRUE(ks_->TenantAdd(Tenant{"beta", "Beta", ""}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"beta.example", "beta"}).ok());
  }
  void Open() {
    ks_.reset();
    auto r = KeyServiceImpl::Open(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(TenantPolicyTest, PolicySetClearPersistAndPublish) {
  auto before = ks_->WaitForChanges(0, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(before.ok());
  TenantPolicy p = Policy("acme");
  p.rules = {{"partner.example", "force_encrypt"}};
  p.tags_off = {"plain"};
  p.ca_backend = "default";
  auto t = ks_->TenantPolicySet(p);
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  ASSERT_EQ(t->policy.rules.size(), 1u);
  EXPECT_EQ(t->policy.ca_backend, "default");
  auto after = ks_->WaitForChanges(before->epoch, before->version, std::chrono::milliseconds(0));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->events.size(), 1u);
  EXPECT_EQ(after->events[0].kind, "tenant") << "the workers' follower re-reads on it";
  EXPECT_EQ(after->events[0].subject, "acme");

  auto missing = ks_->TenantPolicySet(Policy("nosuch"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  TenantPolicy bad = Policy("beta");
  bad.ca_backend = "cmp.example";  // not configured here
  EXPECT_FALSE(ks_->TenantPolicySet(bad).ok());

  // A name change keeps the policy; it survives a restart and is in the table.
  ASSERT_TRUE(ks_->TenantAdd(Tenant{"acme", "ACME Corp", ""}).ok());
  Open();
  auto table = ks_->TenantRouting();
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  ASSERT_EQ(table->policies.size(), 1u) << "only tenants with an override";
  EXPECT_EQ(table->policies[0].tenant, "acme");
  EXPECT_EQ(table->policies[0].rules[0].match, "partner.example");
  EXPECT_EQ(table->policies[0].tags_off, std::vector<std::string>{"plain"});

  auto cleared = ks_->TenantPolicyClear("acme");
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->policy.empty());
  EXPECT_TRUE(ks_->TenantRouting()->policies.empty());
}

// The registry's global rules (docs/tenants.md "Global rules"): the tenant
// rules' checks, one rule per match, add replaces in place, a "policy"
// change event per change, kept across a restart and in the workers' table.
TEST_F(TenantPolicyTest, GlobalRulesSetAddRemovePersistAndPublish) {
  auto before = ks_->WaitForChanges(0, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(before.ok());
  auto set = ks_->GlobalRulesSet({{"Partner.EXAMPLE", ""}, {"CEO@other.example", "Exempt"}});
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  ASSERT_EQ(set->size(), 2u);
  EXPECT_EQ((*set)[0].match, "partner.example");
  EXPECT_EQ((*set)[0].action, "force_encrypt") << "the default action";
  EXPECT_EQ((*set)[1].match, "ceo@other.example");
  EXPECT_EQ((*set)[1].action, "exempt");
  auto after = ks_->WaitForChanges(before->epoch, before->version, std::chrono::milliseconds(0));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->events.size(), 1u);
  EXPECT_EQ(after->events[0].kind, "policy") << "the workers' follower re-reads on it";
  EXPECT_EQ(after->events[0].subject, "global");

  struct Bad {
    std::vector<TenantRule> rules;
    const char* message;
  };
  const std::vector<Bad> bad = {
      {{{"not a domain", "exempt"}}, "global rules[0] match"},
      {{{"a.example", "encrypt"}}, "global rules[0] action"},
      {{{"a.example", "exempt"}, {"A.EXAMPLE", "exempt"}}, "global rules[1]: a second rule"},
  };
  for (const auto& b : bad) {
    auto r = ks_->GlobalRulesSet(b.rules);
    ASSERT_FALSE(r.ok()) << b.message;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(b.message), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(ks_->GlobalRuleAdd({"", "exempt"}).ok());
  EXPECT_EQ(ks_->GlobalRulesShow()->size(), 2u) << "nothing stored on error";

  auto added = ks_->GlobalRuleAdd({"third.example", "exempt"});
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  ASSERT_EQ(added->size(), 3u);
  EXPECT_EQ((*added)[2].match, "third.example") << "a new rule goes last";
  auto changed = ks_->GlobalRuleAdd({"PARTNER.example", "exempt"});
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->size(), 3u) << "one rule per match";
  EXPECT_EQ((*changed)[0].action, "exempt") << "the action changes in place";

  Open();
  auto table = ks_->TenantRouting();
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  ASSERT_EQ(table->global_rules.size(), 3u) << "kept across a restart, in the workers' table";
  EXPECT_EQ(table->global_rules[1].match, "ceo@other.example");

  auto removed = ks_->GlobalRuleRemove("CEO@Other.Example");
  ASSERT_TRUE(removed.ok()) << removed.error().ToString();
  EXPECT_EQ(removed->size(), 2u);
  auto missing = ks_->GlobalRuleRemove("ceo@other.example");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(ks_->GlobalRulesSet({}).ok());
  EXPECT_TRUE(ks_->TenantRouting()->global_rules.empty());
}

TEST_F(TenantPolicyTest, BrandingSetShowClear) {
  TenantBranding b;
  b.tenant = "beta";
  b.product_name = "Beta Secure";
  b.color = "#112233";
  b.logo = Png();
  auto t = ks_->TenantBrandingSet(b);
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  Open();
  auto shown = ks_->TenantShow("beta");
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->branding.product_name, "Beta Secure");
  EXPECT_EQ(shown->branding.logo, Png());
  EXPECT_EQ(shown->branding.logo_type, "image/png");
  EXPECT_TRUE(ks_->TenantShow("acme")->branding.empty());
  b.color = "red";
  EXPECT_FALSE(ks_->TenantBrandingSet(b).ok());
  EXPECT_EQ(ks_->TenantShow("beta")->branding.color, "#112233") << "nothing stored on error";
  ASSERT_TRUE(ks_->TenantBrandingClear("beta").ok());
  EXPECT_TRUE(ks_->TenantShow("beta")->branding.empty());
}

}  // namespace
}  // namespace sg::keyservice
