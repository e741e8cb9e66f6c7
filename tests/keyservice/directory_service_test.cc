// DirectoryService: keyservice.directory parsing, the schedule (a source
// runs when its interval has passed, by the injected clock), a source that
// cannot be fetched, ad-hoc sources, and one run per source at a time.
#include "keyservice/directory_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

Result<DirectoryConfig> Parse(const std::string& yaml) {
  SG_ASSIGN_OR_RETURN(auto doc, config::ConfigDocument::LoadString(yaml, "test.yaml"));
  SG_ASSIGN_OR_RETURN(auto section, doc.Root().Map("directory"));
  return ParseDirectoryConfig(section, "/var/lib/sg");
}

TEST(DirectoryConfigTest, ParsesSourcesWithDefaults) {
  auto c = Parse(R"(
directory:
  grace_period: 14d
  sources:
    hr:
      type: csv
      domains: [Example.COM, example.org]
      file: users.csv
      interval: 1h
    sales:
      type: csv
      domains: [example.net]
      file: /srv/sales.csv
      max_disable_percent: 25
      grace_period: 2d
)");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->state_dir, "/var/lib/sg/directory");
  EXPECT_EQ(c->max_disable_percent, 10);
  ASSERT_EQ(c->sources.size(), 2u);
  EXPECT_EQ(c->sources[0].name, "hr");
  EXPECT_EQ(c->sources[0].domains, (std::set<std::string>{"example.com", "example.org"}));
  EXPECT_EQ(c->sources[0].file, "/var/lib/sg/users.csv");
  EXPECT_EQ(c->sources[0].interval, 1h);
  EXPECT_EQ(c->sources[0].grace_period, std::chrono::hours(24 * 14));
  EXPECT_EQ(c->sources[0].max_disable_percent, 10);
  EXPECT_EQ(c->sources[1].max_disable_percent, 25);
  EXPECT_EQ(c->sources[1].grace_period, std::chrono::hours(48));
  EXPECT_EQ(c->sources[1].interval, 0ms);
}

TEST(DirectoryConfigTest, RefusesAmbiguousOrIncompleteSources) {
  auto c = Parse(R"(
directory:
  sources:
    a: {type: csv, domains: [example.com], file: a.csv}
    b: {type: csv, domains: [example.com], file: b.csv}
)");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("example.com is already fed by source a"), std::string::npos)
      << c.error().message;
  c = Parse("directory:\n  sources:\n    a: {type: csv, file: a.csv}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("must name the domains it feeds"), std::string::npos);
  c = Parse("directory:\n  sources:\n    a: {type: ftp, domains: [example.com]}\n");
  EXPECT_FALSE(c.ok());
  c = Parse("directory:\n  sources:\n    a: {type: csv, domains: [example.com]}\n");
  EXPECT_FALSE(c.ok());  // no file
  c = Parse("directory:\n  sources:\n    ../x: {type: csv, domains: [example.com], file: f}\n");
  EXPECT_FALSE(c.ok());
  c = Parse("directory:\n  max_disable_percent: 101\n");
  EXPECT_FALSE(c.ok());
}

TEST(DirectoryConfigTest, ParsesGraphSources) {
  auto c = Parse(R"(
directory:
  sources:
    m365:
      type: graph
      domains: [example.com]
      azure_tenant: contoso.onmicrosoft.com
      client_id: 11111111-2222-3333-4444-555555555555
      client_secret_file: secrets/graph
      group: 9a1b2c3d-0000-4000-8000-00000000abcd
      max_retry_wait: 2m
)");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  const auto& g = c->sources[0].graph;
  EXPECT_EQ(g.token_url, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(g.graph_url, "https://graph.microsoft.com");
  EXPECT_EQ(g.client_secret_file, "/var/lib/sg/secrets/graph");
  EXPECT_EQ(g.cache_file, "/var/lib/sg/directory/m365.graph");
  EXPECT_EQ(g.max_retry_wait, 2min);
  EXPECT_TRUE(g.delta);
  auto bad = [](const std::string& extra) {
    return Parse("directory:\n  sources:\n    m:\n      type: graph\n      domains: [example.com]\n"
                 "      client_id: x\n" + extra);
  };
  EXPECT_FALSE(bad("      client_secret_env: S\n").ok());  // no token_url
  EXPECT_NE(bad("      token_url: http://login/t\n      client_secret_env: S\n").error().message.find("https"),
            std::string::npos);
  EXPECT_NE(bad("      azure_tenant: t\n").error().message.find("exactly one"), std::string::npos);
  EXPECT_FALSE(bad("      azure_tenant: t\n      client_secret_env: S\n      graph_url: https://g/x\n").ok());
  EXPECT_FALSE(bad("      azure_tenant: t\n      client_secret_env: S\n      group: ../users\n").ok());
  EXPECT_TRUE(bad("      azure_tenant: t\n      client_secret_env: S\n      graph_url: https://g:8443/\n").ok());
}

TEST(DirectoryConfigTest, ParsesLdapSources) {
  auto c = Parse(R"(
directory:
  sources:
    ad:
      type: ldap
      domains: [example.com]
      url: ldaps://dc1.example.com
      bind_dn: CN=reader,DC=example,DC=com
      bind_password_env: AD_PASSWORD
      base_dn: DC=example,DC=com
      group_dn: CN=S-MIME,DC=example,DC=com
      group_membership: member
      page_size: 1000
)");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  const auto& l = c->sources[0].ldap;
  EXPECT_EQ(l.filter, "(mail=*)");
  EXPECT_EQ(l.alias_attribute, "proxyAddresses");
  EXPECT_EQ(l.disabled_attribute, "userAccountControl");
  EXPECT_TRUE(l.group_member_list);
  EXPECT_EQ(l.page_size, 1000);
  auto bad = [](const std::string& extra) {
    return Parse("directory:\n  sources:\n    a:\n      type: ldap\n      domains: [example.com]\n"
                 "      base_dn: dc=x\n" + extra);
  };
  EXPECT_FALSE(bad("      url: http://dc1\n").ok());
  EXPECT_FALSE(bad("      url: ldap://dc1\n      bind_dn: cn=r\n").ok());  // no password source
  EXPECT_FALSE(bad("      url: ldap://dc1\n      filter: mail=*\n").ok());
  EXPECT_TRUE(bad("      url: ldap://dc1\n").ok());  // anonymous
}

class ListSource final : public DirectorySource {
 public:
  Result<DirectoryView> Fetch() override {
    ++fetches;
    if (fail) return MakeError(ErrorCode::kUnavailable, "directory unreachable");
    return view;
  }
  DirectoryView view;
  bool fail = false;
  int fetches = 0;
};

// Blocks its first Fetch until released (a long Graph or LDAP listing).
class BlockingSource final : public DirectorySource {
 public:
  Result<DirectoryView> Fetch() override {
    if (fetches.fetch_add(1) == 0) {
      entered.count_down();
      release.wait();
    }
    return view;
  }
  std::latch entered{1};
  std::latch release{1};
  std::atomic<int> fetches{0};
  DirectoryView view;
};

class DirectoryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = KeyServiceImpl::Open(testing::TestConfig(dir_.path()), {"example.com", "example.org"},
                                   registry_, clock_);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
    config_.state_dir = (dir_.path() / "directory").string();
    DirectorySourceConfig hourly{"hourly", "csv", {"example.com"}, 1h, 24h * 30, 10, "", {}, {}};
    DirectorySourceConfig manual{"manual", "csv", {"example.org"}, 0ms, 24h * 30, 10, "", {}, {}};
    config_.sources = {hourly, manual};
    auto hourly_source = std::make_unique<ListSource>();
    auto manual_source = std::make_unique<ListSource>();
    hourly_ = hourly_source.get();
    manual_ = manual_source.get();
    hourly_->view.users = {{"a@example.com", {}, true, true}};
    std::map<std::string, std::unique_ptr<DirectorySource>> sources;
    sources.emplace("hourly", std::move(hourly_source));
    sources.emplace("manual", std::move(manual_source));
    service_ = std::make_unique<DirectoryService>(config_, std::move(sources), *ks_, *ks_,
                                                  registry_, clock_);
  }

  testing::TempDir dir_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
  DirectoryConfig config_;
  ListSource* hourly_ = nullptr;
  ListSource* manual_ = nullptr;
  std::unique_ptr<DirectoryService> service_;
};

TEST_F(DirectoryServiceTest, ScheduleRunsASourceEveryInterval) {
  EXPECT_EQ(service_->RunDue(), 1);
  EXPECT_EQ(hourly_->fetches, 1);
  EXPECT_EQ(manual_->fetches, 0);  // no interval: on demand only
  EXPECT_EQ(ks_->ListUsers("example.com")->size(), 1u);
  clock_.Advance(59min);
  EXPECT_EQ(service_->RunDue(), 0);
  clock_.Advance(1min);
  hourly_->view.users.push_back({"b@example.com", {}, true, true});
  EXPECT_EQ(service_->RunDue(), 1);
  EXPECT_EQ(ks_->ListUsers("example.com")->size(), 2u);
}

TEST_F(DirectoryServiceTest, UnreachableSourceIsAFailedRunThatChangesNothing) {
  ASSERT_EQ(service_->RunDue(), 1);
  hourly_->fail = true;
  clock_.Advance(1h);
  EXPECT_EQ(service_->RunDue(), 1);
  EXPECT_EQ(ks_->ListUsers("example.com")->size(), 1u);
  auto status = service_->Status("hourly");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->size(), 1u);
  const auto& run = (*status)[0].state.last_run;
  EXPECT_FALSE(run.ok);
  ASSERT_EQ(run.errors.size(), 1u);
  EXPECT_EQ(run.errors[0], "directory unreachable");
  EXPECT_GT((*status)[0].state.last_success_at, 0);
  auto r = service_->SyncSource("hourly", false);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(DirectoryServiceTest, AdHocSourcesFeedOnlyHostedUnclaimedDomains) {
  DirectoryView v;
  v.users = {{"x@example.net", {}, true, true}};
  auto r = service_->SyncView("import", {"example.net"}, v, false);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  r = service_->SyncView("import", {"example.com"}, v, false);
  EXPECT_NE(r.error().message.find("fed by the configured directory source hourly"),
            std::string::npos);
  r = service_->SyncView("import", {}, v, false);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  // A configured csv source takes a view too (its own policy).
  v.users = {{"m@example.org", {}, true, false}};
  r = service_->SyncView("manual", {}, v, false);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  auto users = ks_->ListUsers("example.org");
  ASSERT_EQ(users->size(), 1u);
  EXPECT_FALSE((*users)[0].participating);
  auto all = service_->Status("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(service_->Status("nope").error().code, ErrorCode::kNotFound);
}

TEST_F(DirectoryServiceTest, ASourceNeverRunsTwiceAtATime) {
  service_.reset();
  auto blocking = std::make_unique<BlockingSource>();
  auto* hourly = blocking.get();
  hourly->view.users = {{"a@example.com", {}, true, true}};
  std::map<std::string, std::unique_ptr<DirectorySource>> sources;
  sources.emplace("hourly", std::move(blocking));
  sources.emplace("manual", std::make_unique<ListSource>());
  DirectoryService service(config_, std::move(sources), *ks_, *ks_, registry_, clock_);

  Result<SyncOutcome> first = MakeError(ErrorCode::kInternal, "not run");
  std::thread manual([&] { first = service.SyncSource("hourly", false); });
  hourly->entered.wait();  // the first run is fetching
  auto second = service.SyncSource("hourly", false);
  const bool dry_refused = !service.SyncSource("hourly", true).ok();  // a dry run fetches too
  const bool import_refused = !service.SyncView("hourly", {}, hourly->view, false).ok();
  const int scheduled = service.RunDue();  // the schedule skips it (nothing else is due)
  const int fetches_meanwhile = hourly->fetches.load();
  const bool other_ran = service.SyncSource("manual", false).ok();  // other sources run
  hourly->release.count_down();
  manual.join();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(second.error().message.find("directory source hourly: a run is in progress since "),
            std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("(smimegatectl directory sync)"), std::string::npos);
  EXPECT_TRUE(dry_refused);
  EXPECT_TRUE(import_refused);
  EXPECT_EQ(scheduled, 0);
  EXPECT_EQ(fetches_meanwhile, 1);
  EXPECT_TRUE(other_ran);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(ks_->ListUsers("example.com")->size(), 1u);
  // The refused calls left no trace in the status; the lease is released.
  auto status = service.Status("hourly");
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE((*status)[0].state.last_run.ok);
  EXPECT_TRUE(service.SyncSource("hourly", false).ok());
  EXPECT_EQ(hourly->fetches.load(), 2);
}

}  // namespace
}  // namespace sg::keyservice
