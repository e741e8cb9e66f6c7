// Directory sources bound to a tenant (keyservice.directory.sources.<name>.tenant,
// docs/directory.md "Tenants"): the config key, the check that every fed
// domain belongs to the source's tenant (at start and before every run),
// the tenant of the users a source creates, the status filter, and that a
// source never touches another tenant's users. Against the real
// KeyServiceImpl with a fake clock.
#include <gtest/gtest.h>

#include "keyservice/directory_service.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

class ViewSource final : public DirectorySource {
 public:
  Result<DirectoryView> Fetch() override {
    ++fetches;
    return view;
  }
  DirectoryView view;
  int fetches = 0;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(DirectoryTenantConfigTest, ParsesAndNormalisesTheTenant) {
  auto parse = [](const std::string& tenant) {
    auto doc = config::ConfigDocument::LoadString(
        "directory:\n  sources:\n    hr: {type: csv, domains: [example.com], file: u.csv" + tenant +
            "}\n",
        "test.yaml");
    EXPECT_TRUE(doc.ok());
    return ParseDirectoryConfig(*doc->Root().Map("directory"), "/var/lib/sg");
  };
  auto c = parse(", tenant: ACME");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->sources[0].tenant, "acme");
  c = parse("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sources[0].tenant, "");
  c = parse(", tenant: \"no spaces\"");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(c.error().message, "tenant")) << c.error().message;
}

class DirectoryTenantTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks =
        KeyServiceImpl::Open(testing::TestConfig(dir_.path()), {"example.com"}, registry_, clock_);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
    for (const char* id : {"acme", "beta"}) ASSERT_TRUE(ks_->TenantAdd({id, id, ""}).ok());
    ASSERT_TRUE(ks_->AddDomain({"acme.example", "acme"}).ok());
    ASSERT_TRUE(ks_->AddDomain({"beta.example", "beta"}).ok());
    config_.state_dir = (dir_.path() / "directory").string();
    DirectorySourceConfig acme{"acme-ad", "csv", {"acme.example"}, 0ms, 24h, 100, "", {}, {}};
    acme.tenant = "acme";
    DirectorySourceConfig plain{"plain", "csv", {"example.com"}, 0ms, 24h, 100, "", {}, {}};
    config_.sources = {acme, plain};
  }

  void StartService() {
    auto source = std::make_unique<ViewSource>();
    source_ = source.get();
    std::map<std::string, std::unique_ptr<DirectorySource>> sources;
    sources.emplace("acme-ad", std::move(source));
    sources.emplace("plain", std::make_unique<ViewSource>());
    service_ = std::make_unique<DirectoryService>(config_, std::move(sources), *ks_, *ks_,
                                                  registry_, clock_);
  }

  std::vector<User> Users(const std::string& domain) {
    auto users = ks_->ListUsers(domain);
    EXPECT_TRUE(users.ok());
    return users.ok() ? *users : std::vector<User>{};
  }

  testing::TempDir dir_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
  DirectoryConfig config_;
  ViewSource* source_ = nullptr;
  std::unique_ptr<DirectoryService> service_;
};

TEST_F(DirectoryTenantTest, StartRefusesASourceFeedingAnotherTenantsDomain) {
  ASSERT_TRUE(DirectoryService::Create(config_, *ks_, *ks_, registry_, clock_).ok());
  config_.sources[0].domains.insert("beta.example");
  auto r = DirectoryService::Create(config_, *ks_, *ks_, registry_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(r.error().message,
                       "keyservice.directory.sources.acme-ad: domain beta.example belongs to "
                       "tenant beta, not to the source's tenant acme"))
      << r.error().message;
  EXPECT_TRUE(Contains(r.error().message, "smimegatectl domain add beta.example --tenant acme"));
  // A domain of the default tenant is another tenant's domain too.
  config_.sources[0].domains = {"example.com"};
  config_.sources[1].domains = {"acme.example"};
  r = DirectoryService::Create(config_, *ks_, *ks_, registry_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.error().message, "belongs to tenant default")) << r.error().message;
}

TEST_F(DirectoryTenantTest, UsersASourceAddsGetItsTenant) {
  StartService();
  source_->view.users = {{"ann@acme.example", {}, true, true}};
  auto r = service_->SyncSource("acme-ad", false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto users = Users("acme.example");
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].tenant, "acme");
  // The CSV import path (a configured csv source given a view) too.
  DirectoryView v;
  v.users = {{"ann@acme.example", {}, true, true}, {"bob@acme.example", {}, true, false}};
  ASSERT_TRUE(service_->SyncView("acme-ad", {}, v, false).ok());
  users = Users("acme.example");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1].tenant, "acme");
}

TEST_F(DirectoryTenantTest, ADomainMovedToAnotherTenantFailsTheRunAndChangesNothing) {
  StartService();
  source_->view.users = {{"ann@acme.example", {}, true, true}};
  ASSERT_TRUE(service_->SyncSource("acme-ad", false).ok());
  ASSERT_TRUE(ks_->AddDomain({"acme.example", "beta"}).ok());    // moved at run time
  source_->view.users = {{"new@acme.example", {}, true, true}};  // ann would be disabled
  const int fetches = source_->fetches;
  auto r = service_->SyncSource("acme-ad", false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.error().message, "domain acme.example belongs to tenant beta"))
      << r.error().message;
  EXPECT_EQ(source_->fetches, fetches);  // refused before the directory is read
  auto users = Users("acme.example");
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].address, "ann@acme.example");
  EXPECT_TRUE(users[0].participating);
  auto status = service_->Status("acme-ad");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE((*status)[0].state.last_run.ok);
  ASSERT_FALSE((*status)[0].state.last_run.errors.empty());
  EXPECT_TRUE(Contains((*status)[0].state.last_run.errors[0], "belongs to tenant beta"));
  // The import path is refused the same way.
  EXPECT_FALSE(service_->SyncView("acme-ad", {}, source_->view, false).ok());
  EXPECT_EQ(Users("acme.example").size(), 1u);
}

TEST_F(DirectoryTenantTest, ASourceLeavesAnotherTenantsUsersAlone) {
  StartService();
  // A user of tenant beta (its label) in a domain acme's source feeds, e.g.
  // added before the domain moved to acme: written as an older keyservice
  // did (today's refuses a label that is not the domain's tenant).
  store::StoredUser guest;
  guest.set_address("guest@acme.example");
  guest.set_participating(true);
  guest.set_tenant("Beta");
  ASSERT_TRUE(ks_->store().PutUsers({guest}).ok());
  ASSERT_TRUE(ks_->PutUsers({User{"old@acme.example", true, ""}}).ok());
  source_->view.users = {{"ann@acme.example", {}, true, true},
                         {"guest@acme.example", {}, true, false}};
  auto r = service_->SyncSource("acme-ad", false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  bool warned = false;
  for (const auto& w : r->plan.warnings) warned = warned || Contains(w, "guest@acme.example");
  EXPECT_TRUE(warned);
  for (const auto& c : r->plan.changes) EXPECT_NE(c.address, "guest@acme.example");
  EXPECT_EQ(r->plan.existing_users, 1u);  // old@: acme's (no label); guest@ is beta's
  // old@ (acme's, not listed) was disabled and is removed after the grace period; guest@ stays.
  source_->view.users = {{"ann@acme.example", {}, true, true}};
  clock_.Advance(1h);
  ASSERT_TRUE(service_->SyncSource("acme-ad", false).ok());
  clock_.Advance(48h);  // past the grace period
  ASSERT_TRUE(service_->SyncSource("acme-ad", false).ok());
  std::map<std::string, User> by_address;
  for (const auto& u : Users("acme.example")) by_address[u.address] = u;
  ASSERT_EQ(by_address.count("guest@acme.example"), 1u);
  EXPECT_TRUE(by_address["guest@acme.example"].participating);
  EXPECT_EQ(by_address["guest@acme.example"].tenant, "Beta");
  EXPECT_EQ(by_address.count("old@acme.example"), 0u);  // removed after the grace period
  EXPECT_EQ(by_address.count("ann@acme.example"), 1u);
}

TEST_F(DirectoryTenantTest, StatusShowsAndFiltersByTenant) {
  StartService();
  auto all = service_->Status("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].tenant, "acme");
  EXPECT_EQ((*all)[1].tenant, "");
  auto acme = service_->Status("", "ACME");
  ASSERT_TRUE(acme.ok());
  ASSERT_EQ(acme->size(), 1u);
  EXPECT_EQ((*acme)[0].name, "acme-ad");
  EXPECT_TRUE(service_->Status("", "beta")->empty());
  EXPECT_TRUE(service_->Status("plain", "acme")->empty());
  EXPECT_EQ(service_->Status("", "not a tenant").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sg::keyservice
