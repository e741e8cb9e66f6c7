// Tenants and resellers in the keyservice registry (docs/tenants.md):
// ownership rules, persistence, change events, the default tenant of the
// config file's hosted_domains and the migration of free-text labels.
#include "keyservice/tenant_registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keyservice/key_service_impl.h"
#include "keyservice/user_tenant_check.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using sg::testing::FakeClock;

class TenantRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::TestConfig(dir_.path());
    Open({"example.com"});
  }
  void Open(const std::vector<std::string>& hosted) {
    ks_.reset();
    auto r = KeyServiceImpl::Open(config_, hosted, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
  }
  std::vector<std::string> EventsAfter(uint64_t epoch, uint64_t version) {
    auto c = ks_->WaitForChanges(epoch, version, std::chrono::milliseconds(0));
    std::vector<std::string> out;
    for (const auto& e : c->events) out.push_back(e.kind + ":" + e.subject);
    return out;
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(TenantRegistryTest, ConfigDomainsBelongToTheDefaultTenant) {
  auto def = ks_->TenantShow("default");
  ASSERT_TRUE(def.ok()) << def.error().ToString();
  EXPECT_EQ(def->domains, std::vector<std::string>{"example.com"});
  auto domains = ks_->TenantDomains();
  ASSERT_TRUE(domains.ok());
  ASSERT_EQ(domains->size(), 1u);
  EXPECT_EQ((*domains)[0].name, "example.com");
  EXPECT_EQ((*domains)[0].tenant, "default");
  // A domain added without --tenant goes to the default tenant too.
  ASSERT_TRUE(ks_->AddDomain(Domain{"plain.example", ""}).ok());
  EXPECT_EQ(ks_->TenantShow("default")->domains,
            (std::vector<std::string>{"example.com", "plain.example"}));
  auto st = ks_->TenantRemove("default");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(TenantRegistryTest, ResellerOwnsTenantsAndTenantOwnsDomains) {
  // Unknown owners are refused, naming the command that fixes it.
  auto r = ks_->TenantAdd(Tenant{"acme", "ACME Corp", "sh1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("smimegatectl reseller add sh1"), std::string::npos);
  auto d = ks_->AddDomain(Domain{"acme.example", "acme"});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kNotFound);
  EXPECT_NE(d.error().message.find("smimegatectl tenant add acme"), std::string::npos);

  ASSERT_TRUE(ks_->ResellerAdd(Reseller{"SH1", "System House One"}).ok());  // ids lower-cased
  auto t = ks_->TenantAdd(Tenant{"acme", "ACME Corp", "sh1"});
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_EQ(t->reseller, "sh1");
  ASSERT_TRUE(ks_->TenantAdd(Tenant{"beta", "", ""}).ok());
  EXPECT_EQ(ks_->TenantShow("beta")->name, "beta") << "an empty name is the id";
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.test", "ACME"}).ok());
  EXPECT_EQ(ks_->TenantShow("acme")->domains,
            (std::vector<std::string>{"acme.example", "acme.test"}));
  // Adding an existing domain again without --tenant keeps its tenant;
  // with --tenant it moves.
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.test", ""}).ok());
  EXPECT_EQ(ks_->TenantShow("acme")->domains.size(), 2u);
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.test", "beta"}).ok());
  EXPECT_EQ(ks_->TenantShow("beta")->domains, std::vector<std::string>{"acme.test"});

  auto sh1 = ks_->ResellerShow("sh1");
  ASSERT_TRUE(sh1.ok());
  EXPECT_EQ(sh1->tenants, std::vector<std::string>{"acme"});
  auto of_sh1 = ks_->TenantList("sh1");
  ASSERT_TRUE(of_sh1.ok());
  ASSERT_EQ(of_sh1->size(), 1u);
  EXPECT_EQ((*of_sh1)[0].id, "acme");
  EXPECT_EQ(ks_->TenantList("")->size(), 3u) << "default, acme, beta";
  EXPECT_EQ(ks_->TenantList("nobody").error().code, ErrorCode::kNotFound);

  // Nothing is orphaned: a reseller with tenants, a tenant with domains, a
  // domain with users stay.
  auto has_tenants = ks_->ResellerRemove("sh1");
  ASSERT_FALSE(has_tenants.ok());
  EXPECT_EQ(has_tenants.error().code, ErrorCode::kInvalidArgument);
  auto refused = ks_->TenantRemove("acme");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("acme.example"), std::string::npos);
  ASSERT_TRUE(ks_->PutUsers({User{"ann@acme.example", true, ""}}).ok());
  auto busy = ks_->TenantRemoveDomain("acme.example");
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.error().message.find("ann@acme.example"), std::string::npos);
  ASSERT_TRUE(ks_->RemoveUser("ann@acme.example").ok());
  ASSERT_TRUE(ks_->TenantRemoveDomain("acme.example").ok());
  auto again = ks_->TenantRemoveDomain("acme.example");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  auto users = ks_->PutUsers({User{"ann@acme.example", true, ""}});
  EXPECT_EQ(users.error().code, ErrorCode::kNotFound) << "the domain is not hosted any more";
  ASSERT_TRUE(ks_->TenantRemove("acme").ok());
  ASSERT_TRUE(ks_->ResellerRemove("sh1").ok());
  EXPECT_EQ(ks_->ResellerShow("sh1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ks_->TenantShow("acme").error().code, ErrorCode::kNotFound);
}

TEST_F(TenantRegistryTest, IdsAndNamesAreChecked) {
  const std::vector<std::string> bad_ids = {"", "-acme", "ac me", "acme/1", "ä", std::string(64, 'a')};
  for (const std::string& bad : bad_ids) {
    auto r = ks_->TenantAdd(Tenant{bad, "x", ""});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ks_->TenantAdd(Tenant{std::string(63, 'a'), "x", ""}).ok());
  EXPECT_EQ(ks_->TenantAdd(Tenant{"ok", "bad\nname", ""}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ks_->ResellerAdd(Reseller{"r", std::string(201, 'n')}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(TenantIdFromLabel("  Acme Corp. (EU) "), "acme-corp-eu");
  EXPECT_EQ(TenantIdFromLabel("***"), "");
}

TEST_F(TenantRegistryTest, TenantsPersistAndEveryChangeIsAnEvent) {
  auto start = ks_->WaitForChanges(0, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(ks_->ResellerAdd(Reseller{"sh1", "System House One"}).ok());
  ASSERT_TRUE(ks_->TenantAdd(Tenant{"acme", "ACME", "sh1"}).ok());
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());
  ASSERT_TRUE(ks_->TenantRemoveDomain("acme.example").ok());
  EXPECT_EQ(EventsAfter(start->epoch, start->version),
            (std::vector<std::string>{"reseller:sh1", "tenant:acme", "domain:@acme.example",
                                      "domain:@acme.example"}));
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());

  Open({"example.com"});
  auto acme = ks_->TenantShow("acme");
  ASSERT_TRUE(acme.ok()) << acme.error().ToString();
  EXPECT_EQ(acme->name, "ACME");
  EXPECT_EQ(acme->reseller, "sh1");
  EXPECT_EQ(acme->domains, std::vector<std::string>{"acme.example"});
  EXPECT_GT(acme->created_at, 0);
  EXPECT_EQ(ks_->ResellerShow("sh1")->name, "System House One");
}

TEST_F(TenantRegistryTest, AnOlderStoresFreeTextLabelsBecomeTenants) {
  ks_.reset();
  {
    auto store = KeyStore::Open(config_.store_path);
    ASSERT_TRUE(store.ok());
    for (const auto& [name, label] : std::vector<std::pair<std::string, std::string>>{
             {"acme.example", "Acme Corp"}, {"beta.example", "beta"}, {"old.example", ""}}) {
      store::StoredDomain d;
      d.set_name(name);
      d.set_tenant(label);
      ASSERT_TRUE((*store)->PutDomain(d).ok());
    }
  }
  Open({"example.com"});
  auto acme = ks_->TenantShow("acme-corp");
  ASSERT_TRUE(acme.ok()) << acme.error().ToString();
  EXPECT_EQ(acme->name, "Acme Corp");
  EXPECT_EQ(acme->domains, std::vector<std::string>{"acme.example"});
  EXPECT_EQ(ks_->TenantShow("beta")->domains, std::vector<std::string>{"beta.example"});
  EXPECT_EQ(ks_->TenantShow("default")->domains,
            (std::vector<std::string>{"example.com", "old.example"}));
  auto all = ks_->ListDomains();
  ASSERT_TRUE(all.ok());
  for (const auto& d : *all) EXPECT_FALSE(d.tenant.empty()) << d.name;
}

// A user's tenant label is checked against the registry (docs/tenants.md
// "Users"): left out it follows the domain; another tenant, or one that does
// not exist, is refused with the fix; an older label that disagrees is kept
// on updates that do not change it, and listed by UserTenantMismatches.
TEST_F(TenantRegistryTest, AUserTenantLabelMustBeItsDomainsTenant) {
  ASSERT_TRUE(ks_->TenantAdd({"acme", "ACME", ""}).ok());
  ASSERT_TRUE(ks_->TenantAdd({"beta", "Beta", ""}).ok());
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());
  auto put = [&](const std::string& address, const std::string& tenant, bool participating = true) {
    return ks_->PutUsers({User{address, participating, tenant}});
  };
  auto label = [&](const std::string& address) {
    auto users = ks_->ListUsers("");
    EXPECT_TRUE(users.ok());
    for (const auto& u : users.ok() ? *users : std::vector<User>{}) {
      if (u.address == address) return u.tenant;
    }
    return std::string("(absent)");
  };
  ASSERT_TRUE(put("ann@acme.example", "").ok());
  EXPECT_EQ(label("ann@acme.example"), "acme");  // follows the domain
  ASSERT_TRUE(put("bob@acme.example", "acme").ok());
  ASSERT_TRUE(put("carl@example.com", "").ok());
  EXPECT_EQ(label("carl@example.com"), "");  // a domain of `default`: no label, as before
  ASSERT_TRUE(put("carl@example.com", "default").ok());

  auto other = put("dan@acme.example", "beta");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(other.error().message.find("tenant beta does not own domain acme.example (tenant acme"),
            std::string::npos)
      << other.error().message;
  auto missing = put("dan@acme.example", "nosuch");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("no tenant nosuch"), std::string::npos);
  EXPECT_EQ(label("dan@acme.example"), "(absent)");  // all or nothing
  auto batch =
      ks_->PutUsers({User{"eve@acme.example", true, ""}, User{"fay@example.com", true, "acme"}});
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(label("eve@acme.example"), "(absent)");
  // Changing a user's label to another tenant's is refused too.
  ASSERT_FALSE(put("ann@acme.example", "beta").ok());
  EXPECT_EQ(label("ann@acme.example"), "acme");
}

TEST_F(TenantRegistryTest, OlderLabelsThatDisagreeAreKeptAndReported) {
  ASSERT_TRUE(ks_->TenantAdd({"acme", "ACME", ""}).ok());
  ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());
  // Written as an older keyservice did, when the label was free text.
  store::StoredUser legacy;
  legacy.set_address("old@acme.example");
  legacy.set_participating(true);
  legacy.set_tenant("ACME, Inc");
  store::StoredUser unlabelled;
  unlabelled.set_address("nolabel@acme.example");
  unlabelled.set_participating(false);
  ASSERT_TRUE(ks_->store().PutUsers({legacy, unlabelled}).ok());
  ASSERT_TRUE(ks_->PutUsers({User{"new@acme.example", true, ""}}).ok());

  auto users = ks_->ListUsers("");
  auto domains = ks_->ListDomains();
  ASSERT_TRUE(users.ok() && domains.ok());
  auto found = UserTenantMismatches(*users, *domains);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].address, "nolabel@acme.example");
  EXPECT_EQ(found[0].label, "");
  EXPECT_FALSE(found[0].participating);
  EXPECT_EQ(found[1].address, "old@acme.example");
  EXPECT_EQ(found[1].label, "ACME, Inc");
  EXPECT_EQ(found[1].owner, "acme");
  EXPECT_EQ(found[1].domain, "acme.example");
  // An update that keeps the label (a participation switch) is not refused
  // and does not rewrite it; leaving the label out moves it to the domain's.
  ASSERT_TRUE(ks_->PutUsers({User{"old@acme.example", false, "ACME, Inc"}}).ok());
  EXPECT_EQ(UserTenantMismatches(*ks_->ListUsers(""), *domains).size(), 2u);
  ASSERT_TRUE(ks_->PutUsers({User{"old@acme.example", false, ""}}).ok());
  auto after = UserTenantMismatches(*ks_->ListUsers(""), *domains);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].address, "nolabel@acme.example");
}

}  // namespace
}  // namespace sg::keyservice
