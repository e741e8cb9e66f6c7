// Per-tenant policy overrides in the worker (workers/policy/policy_tenant.h):
// the pure lookup and resolution functions as tables, then the processor
// applying the sender tenant's override to real messages.
#include "workers/policy/policy_tenant.h"

#include <gtest/gtest.h>

#include "tests/workers/policy/policy_test_util.h"
#include "workers/policy/policy_processor.h"

namespace sg::workers {
namespace {

namespace v1 = smimegate::v1;
using testing::Harness;

constexpr const char* kAlice = "alice@example.com";
constexpr const char* kCarol = "carol@example.org";   // a personal certificate
constexpr const char* kErin = "erin@nocert.example";  // no certificate

keyservice::TenantRoutingTable Table() {
  keyservice::TenantRoutingTable t;
  t.domains = {{"a.example", "ta"}, {"a2.example", "ta"}, {"b.example", "tb"}, {"c.example", "tc"}};
  keyservice::TenantPolicy a;
  a.tenant = "ta";
  a.web_encryption = "on";
  a.rules = {{"partner.example", "force_encrypt"},
             {"ceo@partner.example", "exempt"},
             {"bad.example", "future_action"}};
  keyservice::TenantPolicy b;
  b.tenant = "tb";
  b.web_encryption = "off";
  b.tags_off = {"plain", "noenc", "unknown"};
  b.strip_tags = "off";
  a.obscure_subject = "on";
  b.obscure_subject = "off";
  t.policies = {a, b};
  return t;
}

TEST(TenantPolicyTable, LooksUpTheTenantOfADomain) {
  auto table = TenantPolicyTable::Build(Table());
  ASSERT_NE(table->ForDomain("a.example"), nullptr);
  EXPECT_EQ(table->ForDomain("a.example")->tenant, "ta");
  EXPECT_EQ(table->ForDomain("a2.example"), table->ForDomain("a.example")) << "one view per tenant";
  EXPECT_EQ(table->ForDomain("b.example")->tenant, "tb");
  EXPECT_EQ(table->ForDomain("c.example"), nullptr) << "a tenant without override";
  EXPECT_EQ(table->ForDomain("partner.example"), nullptr) << "not hosted";
  EXPECT_EQ(table->size(), 3u);
  const TenantPolicyView* a = table->ForDomain("a.example");
  ASSERT_EQ(a->rules.size(), 2u) << "an unknown action is skipped, not guessed";
  const TenantPolicyView* b = table->ForDomain("b.example");
  EXPECT_TRUE(b->tags_off.plain);
  EXPECT_TRUE(b->tags_off.noenc);
  EXPECT_FALSE(b->tags_off.confidential);
  EXPECT_EQ(b->strip_tags, std::optional<bool>(false));
}

TEST(TenantPolicies, ReplaceSwapsTheWholeSnapshot) {
  TenantPolicies p;
  ASSERT_NE(p.Current(), nullptr);
  EXPECT_EQ(p.Current()->ForDomain("a.example"), nullptr);
  auto held = p.Current();
  p.Replace(TenantPolicyTable::Build(Table()));
  EXPECT_NE(p.Current()->ForDomain("a.example"), nullptr);
  EXPECT_EQ(held->ForDomain("a.example"), nullptr) << "a message keeps the snapshot it began with";
}

struct ResolveCase {
  const char* name;
  bool global_web;
  const char* tenant_domain;  // "" = no tenant override
  bool portal;
  bool want_web;
  bool want_strip;
  bool global_obscure = false;
  bool want_obscure = false;
};

TEST(ResolvePolicy, TenantOverridesGlobal) {
  auto table = TenantPolicyTable::Build(Table());
  const std::vector<ResolveCase> cases = {
      {"no tenant inherits off", false, "", true, false, true, false, false},
      {"no tenant inherits on", true, "", true, true, true, false, false},
      {"tenant on", false, "a.example", true, true, true, false, true},
      {"tenant on without portal", false, "a.example", false, false, true, false, true},
      {"tenant off beats global on", true, "b.example", true, false, false, false, false},
      {"tenant without override", true, "c.example", true, true, true, false, false},
      {"obscure: no tenant inherits on", false, "", true, false, true, true, true},
      {"obscure: tenant on beats global off", false, "a.example", true, true, true, false, true},
      {"obscure: tenant off beats global on", false, "b.example", true, false, false, true, false},
      {"obscure: tenant without override inherits", false, "c.example", true, false, true, true,
       true},
  };
  for (const auto& c : cases) {
    PolicyConfig global;
    global.web_encryption = c.global_web;
    global.obscure_subject = c.global_obscure;
    const TenantPolicyView* t = *c.tenant_domain ? table->ForDomain(c.tenant_domain) : nullptr;
    EffectivePolicy e = ResolvePolicy(global, t, c.portal);
    EXPECT_EQ(e.web_encryption, c.want_web) << c.name;
    EXPECT_EQ(e.strip_tags, c.want_strip) << c.name;
    EXPECT_EQ(e.obscure_subject, c.want_obscure) << c.name;
  }
}

TEST(HonouredTags, SwitchedOffTagsDoNotSteer) {
  SubjectTags parsed;
  parsed.confidential = parsed.noenc = parsed.nosign = parsed.plain = true;
  SubjectTags off;
  off.plain = off.noenc = true;
  SubjectTags h = HonouredTags(parsed, off);
  EXPECT_TRUE(h.confidential);
  EXPECT_TRUE(h.nosign);
  EXPECT_FALSE(h.noenc);
  EXPECT_FALSE(h.plain);
  EXPECT_TRUE(HonouredTags(parsed, SubjectTags{}).plain);
}

struct RuleCase {
  const char* name;
  const char* sender_domain;
  const char* rcpt;
  const char* want_match;  // "" = none
  AdminRule::Action want_action = AdminRule::Action::kForceEncrypt;
};

// FindRule for the sender domain and recipient of each case.
void ExpectRules(const PolicyConfig& global, const TenantPolicyTable& table,
                 const std::vector<RuleCase>& cases) {
  for (const auto& c : cases) {
    const AdminRule* r = FindRule(global, &table, table.ForDomain(c.sender_domain), c.rcpt);
    if (*c.want_match == '\0') {
      EXPECT_EQ(r, nullptr) << c.name;
      continue;
    }
    ASSERT_NE(r, nullptr) << c.name;
    EXPECT_EQ(r->match, c.want_match) << c.name;
    EXPECT_EQ(r->action, c.want_action) << c.name;
  }
}

TEST(FindRule, TenantRulesFirstThenGlobal) {
  auto table = TenantPolicyTable::Build(Table());
  PolicyConfig global;
  global.rules = {{"partner.example", AdminRule::Action::kExempt},
                  {"other.example", AdminRule::Action::kForceEncrypt}};
  const std::vector<RuleCase> cases = {
      {"tenant domain rule beats global", "a.example", "x@partner.example", "partner.example"},
      {"tenant address rule before its domain rule", "a.example", "CEO@partner.example",
       "ceo@partner.example", AdminRule::Action::kExempt},
      {"no tenant match: global", "a.example", "x@other.example", "other.example"},
      {"other tenant: global only", "b.example", "x@partner.example", "partner.example",
       AdminRule::Action::kExempt},
      {"no tenant: global only", "zz.example", "x@partner.example", "partner.example",
       AdminRule::Action::kExempt},
      {"nothing matches", "a.example", "x@nowhere.example", ""},
  };
  ExpectRules(global, *table, cases);
}

// The registry's global rules (docs/tenants.md "Global rules") come after
// the sender tenant's rules and before workers.policy.rules, for every
// sender; within each list address rules come before domain rules.
TEST(FindRule, RegistryGlobalRulesAfterTheTenantsBeforeTheConfigFiles) {
  keyservice::TenantRoutingTable t = Table();
  t.global_rules = {{"partner.example", "exempt"},
                    {"reg.example", "exempt"},
                    {"vip@reg2.example", "force_encrypt"},
                    {"new.example", "future_action"}};
  auto table = TenantPolicyTable::Build(t);
  EXPECT_EQ(table->global_rules().size(), 3u) << "an unknown action is skipped";
  PolicyConfig global;
  global.rules = {{"reg.example", AdminRule::Action::kForceEncrypt},
                  {"x@reg.example", AdminRule::Action::kForceEncrypt},
                  {"reg2.example", AdminRule::Action::kExempt},
                  {"cfg.example", AdminRule::Action::kExempt}};
  const std::vector<RuleCase> cases = {
      {"tenant rule beats registry", "a.example", "x@partner.example", "partner.example"},
      {"tenant without rules: registry", "b.example", "x@partner.example", "partner.example",
       AdminRule::Action::kExempt},
      {"no tenant: registry", "zz.example", "x@partner.example", "partner.example",
       AdminRule::Action::kExempt},
      {"registry domain beats config domain", "zz.example", "y@reg.example", "reg.example",
       AdminRule::Action::kExempt},
      {"registry domain beats config address", "zz.example", "x@reg.example", "reg.example",
       AdminRule::Action::kExempt},
      {"registry address rule", "zz.example", "VIP@reg2.example", "vip@reg2.example"},
      {"registry has none: config", "zz.example", "other@reg2.example", "reg2.example",
       AdminRule::Action::kExempt},
      {"config only", "a.example", "x@cfg.example", "cfg.example", AdminRule::Action::kExempt},
      {"nothing matches", "a.example", "x@new.example", ""},
  };
  ExpectRules(global, *table, cases);
  const AdminRule* none = FindRule(global, nullptr, nullptr, "x@partner.example");
  EXPECT_EQ(none, nullptr) << "without a table: the config file's rules only";
}

// The processor applies the override of the sender's tenant: alice and bob
// are at example.com (policy_test_util.h).
keyservice::TenantRoutingTable ExampleComTable(const keyservice::TenantPolicy& p) {
  keyservice::TenantRoutingTable t;
  t.domains = {{"example.com", "ta"}};
  t.policies = {p};
  return t;
}

// A processor with the cast's keys following `policies_`, without a portal.
class TenantPolicyProcessor : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.AddCast();
    h_.processor->SetTenantPolicies(&policies_, /*web_encryption_available=*/false);
  }
  // An outbound message from alice.
  static v1::MessageRecord FromAlice(const char* rcpt, const char* subject) {
    return testing::Record(v1::DIRECTION_OUTBOUND, kAlice, {rcpt},
                           testing::TextMessage(kAlice, subject));
  }

  Harness h_;
  TenantPolicies policies_;
};

TEST_F(TenantPolicyProcessor, TenantForceRuleBouncesWithoutCertificate) {
  auto in = FromAlice(kErin, "hello");
  auto before = h_.Run(in);
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  EXPECT_EQ(testing::FormsFor(*before, kErin).size(), 1u) << "signed, delivered";

  keyservice::TenantPolicy p;
  p.tenant = "ta";
  p.rules = {{"nocert.example", "force_encrypt"}};
  policies_.Replace(TenantPolicyTable::Build(ExampleComTable(p)));
  auto after = h_.Run(in);
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_TRUE(testing::FormsFor(*after, kErin).empty()) << "must be encrypted: bounced";
  ASSERT_NE(testing::Dsn(*after), nullptr);
  EXPECT_NE(testing::Dsn(*after)->message().find("must be encrypted"), std::string::npos);
}

TEST_F(TenantPolicyProcessor, RegistryGlobalForceRuleAppliesToASenderWithoutTenantOverride) {
  auto in = FromAlice(kErin, "hello");
  keyservice::TenantRoutingTable t;
  t.domains = {{"example.com", "ta"}};  // no override for ta
  t.global_rules = {{"nocert.example", "force_encrypt"}};
  policies_.Replace(TenantPolicyTable::Build(t));
  auto forced = h_.Run(in);
  ASSERT_TRUE(forced.ok()) << forced.error().ToString();
  EXPECT_TRUE(testing::FormsFor(*forced, kErin).empty()) << "must be encrypted: bounced";
  ASSERT_NE(testing::Dsn(*forced), nullptr);

  t.global_rules.clear();  // removed: opportunistic again
  policies_.Replace(TenantPolicyTable::Build(t));
  auto back = h_.Run(in);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(testing::FormsFor(*back, kErin).size(), 1u) << "signed, delivered";
}

TEST_F(TenantPolicyProcessor, SwitchedOffTagIsIgnoredAndKeptWhenNotStripped) {
  keyservice::TenantPolicy p;
  p.tenant = "ta";
  p.tags_off = {"plain"};
  p.strip_tags = "off";
  policies_.Replace(TenantPolicyTable::Build(ExampleComTable(p)));
  auto out = h_.Run(FromAlice(kCarol, "[plain] Offer"));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  auto forms = testing::FormsFor(*out, kCarol);
  ASSERT_EQ(forms.size(), 1u);
  testing::Opened o =
      testing::Open(*h_.engine, forms[0]->message(), &smime::testing::GetTestPki().carol);
  EXPECT_TRUE(o.encrypted) << "[plain] is not honoured for this tenant";
  EXPECT_TRUE(o.signed_msg);
  EXPECT_EQ(o.subject, "[plain] Offer") << "strip_tags off keeps the subject";
}

}  // namespace
}  // namespace sg::workers
