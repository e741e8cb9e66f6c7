// Partner trust from Mozilla's email roots, end to end through the worker
// policy (issue 18): a partner's signed mail whose chain ends at a root of
// the extracted bundle is marked [signed OK] and the partner's certificate
// is harvested without the admin. The keyservice is the real one with the
// real extraction from NSS; the test adds the S/MIME test PKI's root to the
// extracted bundle (the injection point: no test holds a real root's key).
#include <gtest/gtest.h>

#include "keyservice/key_service_impl.h"
#include "keyservice/mozilla_roots.h"
#include "keyservice/keyservice_x509.h"
#include "tests/keyservice/test_pki.h"
#include "tests/workers/policy/policy_test_util.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;

class PartnerTrust : public ::testing::Test {
 protected:
  void Start(bool root_in_bundle) {
    keyservice::KeyServiceConfig config = keyservice::testing::TestConfig(dir_.path());
    config.trust.mozilla_email = true;
    const std::string root = keyservice::CertificateToDer(GetTestPki().root.cert.get()).value();
    keyservice::MozillaRootSource source = [root, root_in_bundle](const std::string& module,
                                                                  int64_t now) {
      auto b = keyservice::ExtractMozillaEmailRoots(module, now);
      if (b.ok() && root_in_bundle) b->der.push_back(root);
      return b;
    };
    auto ks = keyservice::KeyServiceImpl::Open(config, {"example.com"}, registry_, clock_,
                                               keyservice::DefaultCaFactory(), source);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
    engine_ = std::move(smime::SmimeEngine::Create().value());
    guard_ = keyservice::DecryptGuardStore::Open(keyservice::DecryptGuardOptions{}).value();
    smime::SmimeConfig sc;
    sc.trust_system_roots = false;  // only what the keyservice trusts
    processor_ = std::make_unique<PolicyProcessor>(PolicyConfig{}, sc, *ks_, *guard_, *engine_,
                                                   registry_, clock_);
  }
  // carol@example.org signs (test PKI: carol <- intermediate <- root).
  Result<std::vector<v1::MessageRecord>> CarolWritesToAlice() {
    const auto& carol = GetTestPki().carol;
    auto m = engine_->Sign(TextMessage(carol.email, "Report", "SECRET-BODY signed\r\n"),
                           carol.Signer());
    EXPECT_TRUE(m.ok());
    return processor_->Process(Record(v1::DIRECTION_INBOUND, carol.email, {"alice@example.com"}, *m));
  }

  keyservice::testing::TempDir dir_;
  metrics::Registry registry_;
  SystemClock clock_;  // the test PKI is made relative to the real clock
  std::unique_ptr<keyservice::KeyServiceImpl> ks_;
  std::unique_ptr<smime::SmimeEngine> engine_;
  std::unique_ptr<keyservice::DecryptGuardStore> guard_;
  std::unique_ptr<PolicyProcessor> processor_;
};

TEST_F(PartnerTrust, UnderAMozillaEmailRootSignedOkAndHarvestedWithoutApproval) {
  Start(/*root_in_bundle=*/true);
  auto out = CarolWritesToAlice();
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed OK] Report");
  auto partner = ks_->ListCertificates("carol@example.org", "partner");
  ASSERT_TRUE(partner.ok());
  EXPECT_EQ(partner->size(), 1u) << "harvested, usable for encryption";
  EXPECT_TRUE(ks_->ListCertificates("", "pending")->empty()) << "no admin approval needed";
  auto cert = ks_->GetEncryptionCertificate("carol@example.org");
  ASSERT_TRUE(cert.ok());
  EXPECT_TRUE(cert->has_value());
}

TEST_F(PartnerTrust, ARootOutsideTheBundleIsPendingAndInvalid) {
  Start(/*root_in_bundle=*/false);
  auto out = CarolWritesToAlice();
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Report");
  EXPECT_EQ(ks_->ListCertificates("", "pending")->size(), 1u);
}

}  // namespace
}  // namespace sg::workers::testing
