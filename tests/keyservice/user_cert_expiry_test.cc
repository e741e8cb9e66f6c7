// Users' certificate expiry per tenant (issue 24): the buckets (table) and
// the gauge set after a rollover pass, on a fake clock over the real
// KeyServiceImpl with the built-in CA.
#include "keyservice/user_cert_expiry.h"

#include <gtest/gtest.h>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;

TEST(UserCertExpiry, Buckets) {
  constexpr int64_t kNow = 1'800'000'000;
  constexpr int64_t kDay = 86400;
  struct Case {
    int64_t left;
    std::string_view want;
  };
  const std::vector<Case> cases = {
      {-kDay, "expired"},    {0, "expired"},       {1, "3d"},
      {3 * kDay, "3d"},      {3 * kDay + 1, "7d"}, {7 * kDay, "7d"},
      {7 * kDay + 1, "30d"}, {30 * kDay, "30d"},   {30 * kDay + 1, "later"},
      {365 * kDay, "later"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(kExpiryBuckets[ExpiryBucket(kNow + c.left, kNow)], c.want) << c.left;
  }
}

class UserCertExpiryTest : public ::testing::Test {
 protected:
  void Open(std::chrono::milliseconds rollover_before) {
    config_ = testing::TestConfig(dir_.path());
    config_.rollover_before = rollover_before;
    auto r = KeyServiceImpl::Open(config_, {"example.com"}, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
    ASSERT_TRUE(ks_->TenantAdd(Tenant{"acme", "", ""}).ok());
    ASSERT_TRUE(ks_->AddDomain(Domain{"acme.example", "acme"}).ok());
    ASSERT_TRUE(
        ks_->PutUsers({User{"alice@example.com", true, ""}, User{"bob@acme.example", true, ""},
                       User{"carl@acme.example", true, ""},  // no key yet: not counted
                       User{"zed@acme.example", false, ""}})
            .ok());
    // zed had a key and stopped participating: not counted.
    ASSERT_TRUE(ks_->PutUsers({User{"zed@acme.example", true, ""}}).ok());
    for (const char* a : {"alice@example.com", "bob@acme.example", "zed@acme.example"}) {
      auto id = ks_->GetSigningIdentity(a);
      ASSERT_TRUE(id.ok() && id->has_value()) << a;
    }
    ASSERT_TRUE(ks_->PutUsers({User{"zed@acme.example", false, ""}}).ok());
    expiry_ = std::make_unique<UserCertExpiry>(ks_->store(), clock_, registry_);
  }
  // One scheduler pass: rollover, then the gauge (keyservice_server.cc).
  void Pass() {
    ASSERT_TRUE(ks_->RolloverDue().ok());
    ASSERT_TRUE(expiry_->Update().ok());
  }
  double Users(const std::string& tenant, const std::string& bucket) {
    return registry_
        .AddGauge("smimegate_tenant_user_certificates", "", {"tenant", "expires_within"})
        .WithLabels({tenant, bucket})
        .Value();
  }

  testing::TempDir dir_;
  KeyServiceConfig config_;
  metrics::Registry registry_;
  sg::testing::FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
  std::unique_ptr<UserCertExpiry> expiry_;
};

TEST_F(UserCertExpiryTest, RolloverPassCountsUsersPerTenantAndBucket) {
  Open(24h * 7);
  Pass();
  EXPECT_EQ(Users("default", "later"), 1);
  EXPECT_EQ(Users("acme", "later"), 1) << "bob; carl has no key, zed does not participate";
  EXPECT_EQ(Users("acme", "3d"), 0);
  // Two days before expiry: the pass renews (7 days ahead) and counts the new ones.
  clock_.Advance(config_.ca.validity - 48h);
  Pass();
  EXPECT_EQ(Users("acme", "later"), 1);
  EXPECT_EQ(Users("acme", "3d"), 0);
}

TEST_F(UserCertExpiryTest, CertificatesRolloverMissedShowInThreeDaysThenExpired) {
  // Rollover only one day ahead: at two days before expiry nothing is renewed,
  // which is what a failing rollover looks like.
  Open(24h);
  clock_.Advance(config_.ca.validity - 48h);
  Pass();
  EXPECT_EQ(Users("acme", "3d"), 1);
  EXPECT_EQ(Users("default", "3d"), 1);
  EXPECT_EQ(Users("acme", "later"), 0) << "every bucket of a tenant is set";
  clock_.Advance(72h);  // expired, and rollover does not renew expired keys
  Pass();
  EXPECT_EQ(Users("acme", "expired"), 1);
  EXPECT_EQ(Users("acme", "3d"), 0);
}

TEST(UserCertExpiry, TenantsThatDisappearAreZeroed) {
  testing::TempDir dir;
  metrics::Registry registry;
  sg::testing::FakeClock clock;
  auto ks = KeyServiceImpl::Open(testing::TestConfig(dir.path()), {"example.com"}, registry, clock);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  UserCertExpiry gauge((*ks)->store(), clock, registry);
  ExpiryTally first;
  first["a"][4] = 5;
  first["b"][1] = 2;
  gauge.Publish(first);
  ExpiryTally second;
  second["a"][4] = 6;
  gauge.Publish(second);
  auto& family =
      registry.AddGauge("smimegate_tenant_user_certificates", "", {"tenant", "expires_within"});
  EXPECT_EQ(family.WithLabels({"a", "later"}).Value(), 6);
  EXPECT_EQ(family.WithLabels({"b", "3d"}).Value(), 0);
}

}  // namespace
}  // namespace sg::keyservice
