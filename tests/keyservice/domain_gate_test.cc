// The issuance gate of public CA backends (keyservice/key_service_domains.cc):
// a domain without a valid DNS validation gets no certificate from the CMP
// backend (refused before any CMP exchange, with a clear permission error,
// a counter and the unvalidated-domains gauge), the built-in CA needs none,
// validation lifts the gate, and the validation state survives a restart
// (RocksDB). DNS: a local dnslib server (dns_test_server.h).
#include <gtest/gtest.h>

#include <thread>

#include "keyservice/ca_factory.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/cmp_mock_server.h"
#include "tests/keyservice/dns_test_server.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

class DomainGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dns_.ok()) << "dns_server.py did not start (python3-dnslib installed?)";
    config_ = testing::TestConfig(dir_.path() / "ks");
    config_.ca.backend = "cmp";
    // Nothing listens on port 1: any CMP exchange fails as unavailable.
    config_.ca.cmp = pki_.Config("http://127.0.0.1:1/pkix/", "mac");
    config_.ca.cmp.message_timeout = 1s;
    config_.ca.cmp.total_timeout = 2s;
    config_.dns = dns_.Options();
  }
  void Open() {
    ks_.reset();
    registry_ = std::make_unique<metrics::Registry>();
    auto ks = KeyServiceImpl::Open(config_, {"example.com"}, *registry_, clock_, DefaultCaFactory());
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
    ASSERT_TRUE(ks_->PutUsers({User{"bob@example.com", true, ""}}).ok());
  }
  double Gauge() {
    return registry_->AddGauge("smimegate_keyservice_unvalidated_domains", "").Get().Value();
  }
  double Refused() {
    return registry_->AddCounter("smimegate_keyservice_ca_refused_unvalidated_total", "").Get().Value();
  }
  double CaFailures() {
    double total = 0;
    registry_->AddCounter("smimegate_keyservice_ca_failures_total", "", {"reason", "code"})
        .ForEach([&](const auto&, const metrics::Counter& c) { total += c.Value(); });
    return total;
  }

  testing::TempDir dir_;
  testing::CmpTestPki pki_{dir_.path(), std::chrono::system_clock::now()};
  testing::DnsTestServer dns_{dir_.path()};
  FakeClock clock_{std::chrono::system_clock::now()};
  KeyServiceConfig config_;
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(DomainGateTest, AnUnvalidatedDomainGetsNoCertificateFromAPublicCa) {
  Open();
  EXPECT_EQ(Gauge(), 1) << "example.com is served by cmp and not validated";
  auto bob = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.error().code, ErrorCode::kPermissionDenied) << bob.error().ToString();
  EXPECT_FALSE(IsTransient(bob.error().code)) << "not retried as a CA outage";
  EXPECT_NE(bob.error().message.find("smimegatectl domain validate example.com"), std::string::npos)
      << bob.error().message;
  EXPECT_EQ(Refused(), 1);
  EXPECT_EQ(CaFailures(), 0) << "refused before any CMP exchange";
  auto rolled = ks_->Rollover("bob@example.com");
  ASSERT_FALSE(rolled.ok());
  EXPECT_EQ(rolled.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(Refused(), 2);

  auto domains = ks_->ListDomains();
  ASSERT_TRUE(domains.ok());
  ASSERT_EQ(domains->size(), 1u);
  EXPECT_EQ((*domains)[0].ca_backend, "cmp");
  EXPECT_TRUE((*domains)[0].needs_validation);
  EXPECT_EQ((*domains)[0].validation_state, "");
}

TEST_F(DomainGateTest, AValidatedDomainGoesToTheCa) {
  Open();
  ASSERT_TRUE(testing::ValidateDomainForTest(*ks_, dns_, clock_, "example.com").ok());
  EXPECT_EQ(Gauge(), 0);
  auto bob = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.error().code, ErrorCode::kUnavailable)
      << "past the gate, the (unreachable) CA is asked: " << bob.error().ToString();
  EXPECT_EQ(Refused(), 0);
  // The request runs in the background (issuance_queue.h) and may end after
  // the answer under load: wait for it (bounded).
  for (int i = 0; i < 3000 && CaFailures() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(CaFailures(), 1);
}

TEST_F(DomainGateTest, TheValidationStateSurvivesARestart) {
  Open();
  ASSERT_TRUE(testing::ValidateDomainForTest(*ks_, dns_, clock_, "example.com").ok());
  auto before = ks_->ListDomains();
  ASSERT_TRUE(before.ok());
  // AddDomain (e.g. a tenant change) keeps the validation.
  ASSERT_TRUE(ks_->TenantAdd(Tenant{"tenant-a", "", ""}).ok());  // docs/tenants.md
  ASSERT_TRUE(ks_->AddDomain(Domain{"example.com", "tenant-a"}).ok());
  Open();
  auto after = ks_->ListDomains();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].validation_state, "valid");
  EXPECT_EQ((*after)[0].tenant, "tenant-a");
  EXPECT_EQ((*after)[0].validated_at, (*before)[0].validated_at);
  EXPECT_EQ((*after)[0].record_value, (*before)[0].record_value);
  EXPECT_EQ(Gauge(), 0);
}

TEST_F(DomainGateTest, TheBuiltinCaNeedsNoValidation) {
  config_.ca.backend = "builtin";
  Open();
  EXPECT_EQ(Gauge(), 0);
  auto bob = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_TRUE(bob.ok()) << bob.error().ToString();
  EXPECT_TRUE(bob->has_value());
  auto domains = ks_->ListDomains();
  ASSERT_TRUE(domains.ok());
  EXPECT_FALSE((*domains)[0].needs_validation);
}

}  // namespace
}  // namespace sg::keyservice
