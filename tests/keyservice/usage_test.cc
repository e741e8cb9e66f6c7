// Usage counting for billing (docs/usage.md, issue 19): the fixture
// with hand-checked numbers. A month with users added, removed and switched
// from non-participating to participating mid-month, a domain under 20 %, a
// reseller with three tenants whose tier comes from their sum, and the same
// report reproduced from the snapshots after later changes.
#include <gtest/gtest.h>

#include "keyservice/key_service_impl.h"
#include "keyservice/usage_report.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using sg::testing::FakeClock;

constexpr int64_t kNov1 = 1793491200;  // 2026-11-01T00:00:00Z
constexpr int64_t kDay = 86400;

class UsageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetMs((kNov1 + 3600) * 1000);
    config_ = testing::TestConfig(dir_.path());
    config_.usage.tiers = {3, 6, 12};  // small tiers: small hand-checked numbers
    auto r = KeyServiceImpl::Open(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
    ks_->SetDirectoryTotals([] { return std::map<std::string, uint32_t>{{"d3.example", 4}}; });
    ASSERT_TRUE(ks_->ResellerAdd(Reseller{"sh", "System House"}).ok());
    for (const char* t : {"t1", "t2", "t3"}) ASSERT_TRUE(ks_->TenantAdd(Tenant{t, "", "sh"}).ok());
    ASSERT_TRUE(ks_->TenantAdd(Tenant{"solo", "", ""}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"d1.example", "t1"}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"d2.example", "t2"}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"d3.example", "t3"}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"solo.example", "solo"}).ok());
    ASSERT_TRUE(ks_->UsageSetTotal("d1.example", 10).ok());
    ASSERT_TRUE(ks_->UsageSetTotal("d2.example", 20).ok());
  }
  void Put(const std::string& address, bool participating) {
    auto r = ks_->PutUsers({User{address, participating, ""}});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }
  void NextDay() { clock_.Advance(std::chrono::hours(24)); }
  bool Snapshot() {
    auto r = ks_->UsageSnapshot();
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() && *r;
  }
  static const UsageDomainRow* DomainRow(const UsageReport& r, const std::string& d) {
    for (const auto& x : r.domains) {
      if (x.domain == d) return &x;
    }
    return nullptr;
  }
  static const UsageTenantRow* TenantRow(const UsageReport& r, const std::string& t) {
    for (const auto& x : r.tenants) {
      if (x.tenant == t) return &x;
    }
    return nullptr;
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(UsageTest, MonthReportFromDailySnapshots) {
  // 2026-11-01: d1 has a1, a2 participating, a3 not; d2 one of 20 users;
  // d3 b1 and b2 (4 users by the directory import); solo: s1.
  Put("a1@d1.example", true);
  Put("a2@d1.example", true);
  Put("a3@d1.example", false);
  Put("c1@d2.example", true);
  Put("b1@d3.example", true);
  Put("b2@d3.example", true);
  Put("s1@solo.example", true);
  ASSERT_TRUE(Snapshot());
  EXPECT_FALSE(Snapshot()) << "idempotent: the same state the same day writes nothing";
  Put("late@d1.example", true);  // later the same day: merged into the day's snapshot
  EXPECT_TRUE(Snapshot());
  NextDay();  // 11-02: a2 removed, a3 switches to participating
  ASSERT_TRUE(ks_->RemoveUser("a2@d1.example").ok());
  ASSERT_TRUE(ks_->RemoveUser("late@d1.example").ok());
  Put("a3@d1.example", true);
  ASSERT_TRUE(Snapshot());
  NextDay();  // 11-03: a4 added participating, a5 added not participating
  Put("a4@d1.example", true);
  Put("a5@d1.example", false);
  ASSERT_TRUE(Snapshot());
  ASSERT_TRUE(ks_->UsageRecordMessages({{"t1", {{"signed", 3}, {"encrypted", 2}}}}).ok());
  ASSERT_TRUE(ks_->UsageRecordMessages({{"t1", {{"signed", 4}}}, {"t2", {{"bounced", 1}}}}).ok());
  EXPECT_FALSE(ks_->UsageRecordMessages({{"t1", {{"shredded", 1}}}}).ok());

  auto r = ks_->GetUsageReport("2026-11", "", "");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->days, 3u);
  ASSERT_EQ(r->domains.size(), 5u);  // d1, d2, d3, example.com, solo.example
  // d1: a1 (all days), a2 (day 1), late (day 1, removed on day 2), a3
  // (days 2-3), a4 (day 3) = 5; a5 never participated. 5/10 = 50 %.
  const auto* d1 = DomainRow(*r, "d1.example");
  ASSERT_NE(d1, nullptr);
  EXPECT_EQ(d1->participating, 5u);
  EXPECT_EQ(d1->total_users, 10u);
  EXPECT_EQ(d1->total_source, "admin");
  EXPECT_DOUBLE_EQ(d1->ratio, 0.5);
  EXPECT_FALSE(d1->below_minimum);
  // d2: 1 of 20 = 5 %: below the 20 % minimum.
  const auto* d2 = DomainRow(*r, "d2.example");
  EXPECT_EQ(d2->participating, 1u);
  EXPECT_DOUBLE_EQ(d2->ratio, 0.05);
  EXPECT_TRUE(d2->below_minimum);
  // d3: 2 of 4 from the directory import.
  const auto* d3 = DomainRow(*r, "d3.example");
  EXPECT_EQ(d3->total_source, "directory");
  EXPECT_DOUBLE_EQ(d3->ratio, 0.5);
  // example.com: no users, total unknown: flagged as unknown, not as below.
  const auto* def = DomainRow(*r, "example.com");
  EXPECT_TRUE(def->total_unknown);
  EXPECT_FALSE(def->below_minimum);
  // Tenants: t1 5 users -> tier 3; t2 1 -> 0; t3 2 -> 0; the reseller's sum
  // 8 -> tier 6, which no tenant reaches alone.
  EXPECT_EQ(TenantRow(*r, "t1")->billable_users, 5u);
  EXPECT_EQ(TenantRow(*r, "t1")->tier, 3u);
  EXPECT_EQ(TenantRow(*r, "t2")->tier, 0u);
  EXPECT_EQ(TenantRow(*r, "t2")->domains_below_minimum, 1u);
  EXPECT_EQ(TenantRow(*r, "t3")->billable_users, 2u);
  ASSERT_EQ(r->resellers.size(), 1u);
  EXPECT_EQ(r->resellers[0].reseller, "sh");
  EXPECT_EQ(r->resellers[0].tenants, 3u);
  EXPECT_EQ(r->resellers[0].billable_users, 8u);
  EXPECT_EQ(r->resellers[0].tier, 6u);
  EXPECT_EQ(TenantRow(*r, "solo")->billable_users, 1u);
  // Message counters summed over the batches.
  EXPECT_EQ(TenantRow(*r, "t1")->messages, (std::map<std::string, uint64_t>{{"encrypted", 2},
                                                                            {"signed", 7}}));
  EXPECT_EQ(TenantRow(*r, "t2")->messages.at("bounced"), 1u);

  // Filters: one tenant (no reseller row: it would show the others' sum);
  // one reseller's tenants.
  auto only_t2 = ks_->GetUsageReport("2026-11", "t2", "");
  ASSERT_TRUE(only_t2.ok());
  EXPECT_EQ(only_t2->domains.size(), 1u);
  EXPECT_EQ(only_t2->tenants.size(), 1u);
  EXPECT_TRUE(only_t2->resellers.empty());
  auto only_sh = ks_->GetUsageReport("2026-11", "", "sh");
  ASSERT_TRUE(only_sh.ok());
  EXPECT_EQ(only_sh->domains.size(), 3u);
  EXPECT_EQ(only_sh->tenants.size(), 3u);
  EXPECT_EQ(only_sh->resellers.size(), 1u);

  // Later changes (December) leave November's report as it was (only the
  // days without a snapshot grow with today).
  EXPECT_EQ(r->missing_days.size(), 0u) << "today is 11-03: days 1-2 have snapshots";
  const std::string before = UsageReportJson(*r);
  clock_.SetMs((kNov1 + 31 * kDay + 3600) * 1000);  // 2026-12-02
  ASSERT_TRUE(ks_->RemoveUser("a1@d1.example").ok());
  Put("a9@d1.example", true);
  ASSERT_TRUE(ks_->UsageSetTotal("d1.example", 2).ok());
  ASSERT_TRUE(ks_->TenantAdd(Tenant{"t3", "", ""}).ok());  // t3 leaves the reseller
  ASSERT_TRUE(Snapshot());
  ASSERT_TRUE(ks_->UsageRecordMessages({{"t1", {{"signed", 100}}}}).ok());
  auto again = ks_->GetUsageReport("2026-11", "", "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->missing_days.size(), 27u);  // 11-04 .. 11-30
  again->missing_days.clear();
  EXPECT_EQ(UsageReportJson(*again), before);
  auto dec = ks_->GetUsageReport("2026-12", "", "");
  EXPECT_EQ(DomainRow(*dec, "d1.example")->participating, 3u);  // a3, a4, a9
  EXPECT_EQ(dec->missing_days, std::vector<std::string>{"2026-12-01"});
}

TEST(UsageReportRules, TiersMonthsAndCsv) {
  EXPECT_EQ(UsageTier({100, 200, 400}, 99), 0u);
  EXPECT_EQ(UsageTier({100, 200, 400}, 100), 100u);
  EXPECT_EQ(UsageTier({100, 200, 400}, 399), 200u);
  EXPECT_EQ(UsageTier({100, 200, 400}, 5000), 400u);
  EXPECT_TRUE(CheckUsageMonth("2026-11").ok());
  for (const char* bad : {"2026-13", "2026-00", "26-11", "2026/11", "", "2026-1x"}) {
    EXPECT_FALSE(CheckUsageMonth(bad).ok()) << bad;
  }
  UsageDay day{"2026-11-05", 0, {{"a.example", "t,1", "", {"x@a.example"}, 4, "admin"}}};
  auto r = BuildUsageReport("2026-11", {day}, {}, UsageRules{}, "", "", "2026-11-06");
  EXPECT_EQ(r.missing_days.size(), 4u);  // 1-4 (the 5th has one, the 6th is today)
  const std::string csv = UsageReportCsv(r);
  EXPECT_NE(csv.find("domain,2026-11,a.example,\"t,1\",,1,4,0.2500,,"), std::string::npos) << csv;
}

}  // namespace
}  // namespace sg::keyservice
