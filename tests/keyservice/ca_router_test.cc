// Per-domain CA backends (keyservice/ca_router.h, keyservice.ca.domains):
// two hosted domains on two backends (the built-in CA by default, OpenSSL's
// CMP mock for cmp.example) each issue from their own CA; routing uses the
// normalised domain; revocation goes to the issuing backend; every CA is
// listed (labelled) for `ca export` and trusted; only the public backend's
// domain needs validation. Config errors: keyservice_config_test.cc.
#include "keyservice/ca_router.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "keyservice/ca_factory.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/cmp_mock_server.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace sg::keyservice {
namespace {

using sg::testing::FakeClock;

std::string Der(const std::string& pem_path) {
  FILE* f = fopen(pem_path.c_str(), "r");
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  (void)fclose(f);
  unsigned char* out = nullptr;
  int n = i2d_X509(x, &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  X509_free(x);
  return der;
}

class CaRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsp_cert_ = pki_.Leaf("alice", "alice@cmp.example", mock_key_.get());
    mock_ = std::make_unique<testing::CmpMockServer>(pki_.MockArgs(rsp_cert_), dir_.path());
    ASSERT_TRUE(mock_->ok()) << mock_->Log();
    config_ = testing::TestConfig(dir_.path() / "ks");
    config_.ca.domains.push_back(
        DomainCaConfig{"cmp.example", "cmp", pki_.Config(mock_->url(), "mac")});
  }

  testing::TempDir dir_;
  testing::CmpTestPki pki_{dir_.path(), std::chrono::system_clock::now()};
  PkeyPtr mock_key_{GenerateKey(KeyType::kRsa2048)->release()};
  std::string rsp_cert_;
  std::unique_ptr<testing::CmpMockServer> mock_;
  KeyServiceConfig config_;
  FakeClock clock_{std::chrono::system_clock::now()};
  metrics::Registry registry_;
};

TEST_F(CaRouterTest, TwoDomainsOnTwoBackendsIssueFromTheirOwnCa) {
  auto store = KeyStore::Open((dir_.path() / "store").string());
  ASSERT_TRUE(store.ok());
  auto kek = Kek::FromMaterial(std::string(64, 'a'), "test");
  ASSERT_TRUE(kek.ok());
  auto made = DefaultCaFactory()(config_.ca, CaContext{**store, *kek, clock_});
  ASSERT_TRUE(made.ok()) << made.error().ToString();
  auto& ca = **made;
  const std::string pki_issuing = Der(pki_.issuing_pem);

  PkeyPtr carol = std::move(*GenerateKey(KeyType::kEcdsaP256));
  auto builtin = ca.Issue(IssueRequest{"carol@builtin.example", *PublicKeyDer(carol.get()),
                                       clock_.Now(), carol.get()});
  ASSERT_TRUE(builtin.ok()) << builtin.error().ToString();
  EXPECT_EQ(builtin->chain_der.front(), ca.IssuingCertificateDer()) << "the default: built-in CA";
  EXPECT_NE(builtin->chain_der.front(), pki_issuing);

  // The keyservice passes normalised addresses; the router also normalises
  // what it routes by ("Alice@CMP.Example" goes where "cmp.example" goes).
  auto* router = dynamic_cast<CaRouter*>(&ca);
  ASSERT_NE(router, nullptr) << "keyservice.ca.domains makes a router";
  EXPECT_EQ(&router->For("Alice@CMP.Example"), &router->For("cmp.example"));
  EXPECT_EQ(&router->For("CMP.Example."), &router->For("cmp.example"));
  EXPECT_NE(&router->For("carol@builtin.example"), &router->For("cmp.example"));
  auto cmp = ca.Issue(IssueRequest{"alice@cmp.example", *PublicKeyDer(mock_key_.get()), clock_.Now(),
                                   mock_key_.get()});
  ASSERT_TRUE(cmp.ok()) << cmp.error().ToString() << "\n" << mock_->Log();
  EXPECT_EQ(cmp->certificate_der, Der(rsp_cert_));
  EXPECT_EQ(cmp->chain_der.front(), pki_issuing) << "the public CA's chain";

  EXPECT_FALSE(ca.RequiresDomainValidation("builtin.example"));
  EXPECT_TRUE(ca.RequiresDomainValidation("cmp.example"));
  auto all = ca.AllCas();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].label, "default");
  EXPECT_EQ(all[0].backend, "builtin");
  EXPECT_EQ(all[1].label, "cmp.example");
  EXPECT_EQ(all[1].backend, "cmp");
  EXPECT_EQ(all[1].root_der, Der(pki_.root_pem));

  // Revocation goes to the backend that issued the certificate.
  EXPECT_TRUE(ca.Revoke(cmp->certificate_der, 1).ok()) << "the mock revokes its certificate";
  // The built-in CA revokes too, and the router serves its CRL (GET /ca.crl).
  auto before = ca.CrlDer();
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  auto builtin_revoke = ca.Revoke(builtin->certificate_der, 1);
  ASSERT_TRUE(builtin_revoke.ok()) << builtin_revoke.error().ToString();
  auto after = ca.CrlDer();
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_NE(*after, *before) << "the CRL is remade on revocation";
  const auto* p = reinterpret_cast<const unsigned char*>(after->data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(after->size()));
  ASSERT_NE(crl, nullptr);
  const auto* c = reinterpret_cast<const unsigned char*>(builtin->certificate_der.data());
  X509* cert = d2i_X509(nullptr, &c, static_cast<long>(builtin->certificate_der.size()));
  ASSERT_NE(cert, nullptr);
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_cert(crl, &entry, cert), 1) << "carol's serial is on the CRL";
  X509_free(cert);
  X509_CRL_free(crl);
}

TEST_F(CaRouterTest, TheKeyserviceExportsAndTrustsEveryRoot) {
  metrics::Registry registry;
  auto ks = KeyServiceImpl::Open(config_, {"builtin.example", "cmp.example"}, registry, clock_);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  auto cas = (*ks)->CaExport();
  ASSERT_TRUE(cas.ok());
  ASSERT_EQ(cas->all.size(), 2u);
  EXPECT_EQ(cas->all[0].label, "default");
  EXPECT_EQ(cas->all[0].root_der, cas->root_der);
  EXPECT_EQ(cas->all[1].label, "cmp.example");
  EXPECT_EQ(cas->all[1].backend, "cmp");
  auto anchors = (*ks)->GetTrustAnchors();
  ASSERT_TRUE(anchors.ok());
  const std::string cmp_root = Der(pki_.root_pem);
  EXPECT_NE(std::find(anchors->der.begin(), anchors->der.end(), cmp_root), anchors->der.end());
  EXPECT_NE(std::find(anchors->der.begin(), anchors->der.end(), cas->root_der), anchors->der.end());

  auto domains = (*ks)->ListDomains();
  ASSERT_TRUE(domains.ok());
  for (const auto& d : *domains) {
    EXPECT_EQ(d.ca_backend, d.name == "cmp.example" ? "cmp" : "builtin") << d.name;
    EXPECT_EQ(d.needs_validation, d.name == "cmp.example") << d.name;
  }
  EXPECT_EQ(registry.AddGauge("smimegate_keyservice_unvalidated_domains", "").Get().Value(), 1);
}

TEST_F(CaRouterTest, ADomainsBackendErrorNamesItsKey) {
  config_.ca.domains[0].cmp.root_cert_file = (dir_.path() / "missing.pem").string();
  metrics::Registry registry;
  auto ks = KeyServiceImpl::Open(config_, {"cmp.example"}, registry, clock_);
  ASSERT_FALSE(ks.ok());
  EXPECT_NE(ks.error().message.find("keyservice.ca.domains.cmp.example"), std::string::npos)
      << ks.error().message;
}

// A tenant's policy names a CA backend (docs/tenants.md "Policy"): its
// domains without their own keyservice.ca.domains entry are routed there,
// read at every issuance (no restart); the domain's own entry wins.
TEST_F(CaRouterTest, TenantPolicyRoutesItsDomainsToItsBackend) {
  auto store = KeyStore::Open((dir_.path() / "store").string());
  ASSERT_TRUE(store.ok());
  auto kek = Kek::FromMaterial(std::string(64, 'a'), "test");
  ASSERT_TRUE(kek.ok());
  auto made = DefaultCaFactory()(config_.ca, CaContext{**store, *kek, clock_});
  ASSERT_TRUE(made.ok()) << made.error().ToString();
  auto* router = dynamic_cast<CaRouter*>(made->get());
  ASSERT_NE(router, nullptr);
  CertificateAuthority* def = &router->For("nobody.example");
  CertificateAuthority* cmp = &router->For("cmp.example");
  std::string label;
  router->SetTenantBackend([&](const std::string& domain) {
    return domain == "tenant.example" || domain == "cmp.example" ? label : std::string();
  });
  EXPECT_EQ(&router->For("bob@tenant.example"), def) << "no label: the default";
  label = "cmp.example";
  EXPECT_EQ(&router->For("bob@tenant.example"), cmp) << "the tenant's backend, at once";
  EXPECT_EQ(&router->For("bob@other.example"), def);
  label = "default";
  EXPECT_EQ(&router->For("bob@tenant.example"), def);
  EXPECT_EQ(&router->For("alice@cmp.example"), cmp) << "the domain's own entry wins";
  label = "gone.example";
  EXPECT_EQ(&router->For("bob@tenant.example"), def) << "an unknown label: the default";
}

// The keyservice accepts only the labels of configured CAs and wires the
// lookup to the registry.
TEST_F(CaRouterTest, TenantPolicyCaBackendIsValidatedAgainstTheConfig) {
  auto ks = KeyServiceImpl::Open(config_, {}, registry_, clock_);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  ASSERT_TRUE((*ks)->TenantAdd(Tenant{"acme", "ACME", ""}).ok());
  ASSERT_TRUE((*ks)->AddDomain(Domain{"tenant.example", "acme"}).ok());
  TenantPolicy p;
  p.tenant = "acme";
  p.ca_backend = "CMP.example";
  auto t = (*ks)->TenantPolicySet(p);
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_EQ(t->policy.ca_backend, "cmp.example");
  p.ca_backend = "builtin";
  auto bad = (*ks)->TenantPolicySet(p);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cmp.example, default"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace sg::keyservice
