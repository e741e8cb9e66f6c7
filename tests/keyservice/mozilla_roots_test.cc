// Mozilla's email roots from NSS's libnssckbi.so (keyservice/mozilla_roots.h)
// and the keyservice's trust sources (issue 18, "Partner trust from the
// public PKI"): the real extraction holds email-trusted roots and no
// server-only root; a partner under a root of the bundle is harvested without
// the admin; `trust list --source` names each anchor's origin.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "common/clock.h"
#include "keyservice/key_service_impl.h"
#include "keyservice/mozilla_roots.h"
#include "keyservice/trust_store.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/test_pki.h"

namespace sg::keyservice {
namespace {

using testing::LeafOptions;
using testing::MakeCa;
using testing::MakeLeaf;
using testing::TempDir;
using testing::TestConfig;

std::vector<std::string> Subjects(const std::vector<std::string>& der) {
  std::vector<std::string> out;
  for (const auto& d : der) {
    auto x = ParseCertificateDer(d);
    if (x.ok()) out.push_back(SubjectText(x->get()));
  }
  return out;
}

bool HasCn(const std::vector<std::string>& subjects, const std::string& cn) {
  return std::any_of(subjects.begin(), subjects.end(), [&](const std::string& s) {
    return s.find("CN=" + cn) != std::string::npos;
  });
}

TEST(MozillaRoots, TheRealStoreHasEmailRootsAndNoServerOnlyRoot) {
  ASSERT_FALSE(DefaultMozillaModule().empty()) << "the build found no libnssckbi.so (libnss3)";
  auto bundle = ExtractMozillaEmailRoots(DefaultMozillaModule(), 1234);
  ASSERT_TRUE(bundle.ok()) << bundle.error().ToString();
  EXPECT_GT(bundle->der.size(), 50u);  // NSS 3.87 (Debian 12): 108
  EXPECT_NE(bundle->origin.find("Mozilla root store (NSS builtins "), std::string::npos) << bundle->origin;
  EXPECT_NE(bundle->origin.find(DefaultMozillaModule()), std::string::npos);
  EXPECT_EQ(bundle->extracted_at, 1234);
  auto subjects = Subjects(bundle->der);
  ASSERT_EQ(subjects.size(), bundle->der.size()) << "every root parses";
  // Email-only roots (not in the server bundle) and a root trusted for both.
  EXPECT_TRUE(HasCn(subjects, "DigiCert SMIME RSA4096 Root G5"));
  EXPECT_TRUE(HasCn(subjects, "GlobalSign Secure Mail Root R45"));
  EXPECT_TRUE(HasCn(subjects, "HARICA Client RSA Root CA 2021"));
  // Trusted by Mozilla for websites only.
  EXPECT_FALSE(HasCn(subjects, "ISRG Root X1"));
  EXPECT_FALSE(HasCn(subjects, "Microsoft RSA Root Certificate Authority 2017"));
  EXPECT_FALSE(HasCn(subjects, "HARICA TLS RSA Root CA 2021"));
}

TEST(MozillaRoots, TheServerBundleIsTheOtherSet) {
  // What the system bundle (the old default) would have trusted instead.
  const std::string file = "/etc/ssl/certs/ca-certificates.crt";
  if (!std::ifstream(file)) GTEST_SKIP() << file << " not installed";
  std::vector<std::string> der;
  for (auto& a : ReadPemAnchors(file, kOriginSystem)) der.push_back(std::move(a.der));
  auto subjects = Subjects(der);
  EXPECT_TRUE(HasCn(subjects, "ISRG Root X1"));
  EXPECT_FALSE(HasCn(subjects, "DigiCert SMIME RSA4096 Root G5"));
}

TEST(MozillaRoots, AModuleThatDoesNotLoadIsUnavailableAndNamesTheKey) {
  auto r = ExtractMozillaEmailRoots("/nonexistent/libnssckbi.so", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("keyservice.trust.mozilla_module"), std::string::npos);
  EXPECT_EQ(ExtractMozillaEmailRoots("", 0).error().code, ErrorCode::kUnavailable);
}

class TrustSourcesTest : public ::testing::Test {
 protected:
  // A keyservice whose Mozilla bundle is the real extraction plus `root`
  // (the injection point: no test holds the key of a real root).
  Result<std::unique_ptr<KeyServiceImpl>> Open(bool mozilla, const std::string& injected_root) {
    KeyServiceConfig config = TestConfig(dir_.path());
    config.trust.mozilla_email = mozilla;
    MozillaRootSource source = [injected_root](const std::string& module, int64_t now) {
      auto b = ExtractMozillaEmailRoots(module, now);
      if (b.ok() && !injected_root.empty()) b->der.push_back(injected_root);
      return b;
    };
    return KeyServiceImpl::Open(config, {"example.com"}, registry_, clock_,
                                DefaultCaFactory(), source);
  }

  HarvestRequest Partner(const testing::TestCa& root, const testing::TestCa& sub) {
    LeafOptions o;
    o.email = "paula@partner.example";
    o.not_before = now_ - std::chrono::hours(1);
    o.not_after = now_ + std::chrono::hours(24 * 300);
    HarvestRequest r;
    r.address = o.email;
    r.certificate_der = MakeLeaf(sub, o);
    r.chain_der = {sub.der};
    (void)root;
    return r;
  }

  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
  TempDir dir_;
  metrics::Registry registry_;
  SystemClock clock_;
};

// An issuing CA under `root` (leaf -> issuing CA -> root, like a public
// S/MIME hierarchy).
testing::TestCa SubCa(const testing::TestCa& root, std::chrono::system_clock::time_point now) {
  testing::TestCa sub;
  sub.key = std::move(*GenerateKey(KeyType::kEcdsaP256));
  sg::testing::CertSpec spec;
  spec.subject = {{"CN", "Test Public S/MIME Issuing CA"}};
  spec.not_before = now - std::chrono::hours(24);
  spec.not_after = now + std::chrono::hours(24 * 365);
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}};
  sub.cert.reset(sg::testing::IssueCert(spec, sub.key.get(), root.cert.get(), root.key.get()).release());
  sub.der = *CertificateToDer(sub.cert.get());
  return sub;
}

TEST_F(TrustSourcesTest, APartnerUnderAMozillaEmailRootIsHarvestedWithoutApproval) {
  testing::TestCa root = MakeCa("Test Public S/MIME Root", now_);
  testing::TestCa sub = SubCa(root, now_);
  auto ks = Open(true, root.der);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  auto h = (*ks)->HarvestCertificate(Partner(root, sub));
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  EXPECT_EQ(h->outcome, HarvestOutcome::kStored) << h->reason;
  EXPECT_TRUE((*ks)->ListCertificates("", "pending")->empty());
  auto anchors = (*ks)->GetTrustAnchors();
  ASSERT_TRUE(anchors.ok());
  EXPECT_NE(std::find(anchors->der.begin(), anchors->der.end(), root.der), anchors->der.end())
      << "the workers verify signatures with the same anchors";
}

TEST_F(TrustSourcesTest, WithoutTheRootInTheBundleThePartnerIsPending) {
  testing::TestCa root = MakeCa("Test Public S/MIME Root", now_);
  testing::TestCa sub = SubCa(root, now_);
  auto ks = Open(true, "");
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  auto h = (*ks)->HarvestCertificate(Partner(root, sub));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->outcome, HarvestOutcome::kPending);
}

TEST_F(TrustSourcesTest, EachAnchorShowsItsOriginAndTheBundleItsSource) {
  testing::TestCa root = MakeCa("Test Public S/MIME Root", now_);
  testing::TestCa admin_root = MakeCa("Admin Root", now_);
  testing::TestCa approved_root = MakeCa("Approved Root", now_);
  auto ks = Open(true, root.der);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  ASSERT_TRUE((*ks)->TrustAdd({admin_root.der}).ok());
  // A pending partner whose chain ends at approved_root, approved by the admin.
  LeafOptions o;
  o.email = "pat@other.example";
  o.not_before = now_ - std::chrono::hours(1);
  o.not_after = now_ + std::chrono::hours(24 * 300);
  HarvestRequest r;
  r.address = o.email;
  r.certificate_der = MakeLeaf(approved_root, o);
  r.chain_der = {approved_root.der};
  auto h = (*ks)->HarvestCertificate(r);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->outcome, HarvestOutcome::kPending);
  ASSERT_TRUE((*ks)->TrustApprovePending(Fingerprint(r.certificate_der)).ok());

  auto s = (*ks)->TrustSources();
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_NE(s->mozilla_origin.find("Mozilla root store (NSS builtins "), std::string::npos);
  EXPECT_GT(s->mozilla_extracted_at, 0);
  EXPECT_EQ(s->system_file, "");
  auto origin_of = [&](const std::string& der) {
    for (const auto& a : s->anchors) {
      if (a.fingerprint == Fingerprint(der)) return a.origin;
    }
    return std::string("absent");
  };
  EXPECT_EQ(origin_of(root.der), kOriginMozillaEmail);
  EXPECT_EQ(origin_of(admin_root.der), kOriginAdmin);
  EXPECT_EQ(origin_of(approved_root.der), kOriginApproved);
  EXPECT_EQ(origin_of((*ks)->CaExport()->root_der), kOriginOwnCa);
  size_t mozilla = std::count_if(s->anchors.begin(), s->anchors.end(),
                                 [](const CertificateInfo& a) { return a.origin == kOriginMozillaEmail; });
  EXPECT_GT(mozilla, 50u);
}

TEST_F(TrustSourcesTest, MozillaOffMeansNoBundle) {
  auto ks = Open(false, "");
  ASSERT_TRUE(ks.ok());
  auto s = (*ks)->TrustSources();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->mozilla_origin, "");
  ASSERT_EQ(s->anchors.size(), 1u);
  EXPECT_EQ(s->anchors[0].origin, kOriginOwnCa);
}

TEST_F(TrustSourcesTest, AnUnreadableModuleStopsTheStartNamingTheKey) {
  KeyServiceConfig config = TestConfig(dir_.path());
  config.trust.mozilla_email = true;
  config.trust.mozilla_module = "/nonexistent/libnssckbi.so";
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry_, clock_);
  ASSERT_FALSE(ks.ok());
  EXPECT_NE(ks.error().message.find("keyservice.trust.mozilla_email"), std::string::npos);
}

}  // namespace
}  // namespace sg::keyservice
