// The contract every CertificateAuthority backend keeps (keyservice/
// certificate_authority.h), as one parameterised suite like the queue's
// (tests/common/queue_test.cc). A new backend (ACME, EST, a vendor MPKI or
// a test double of one) adds an entry to Backends() and passes everything
// here; KeyServiceImpl depends on nothing else.
//
// The CMP backend runs against OpenSSL's own CMP mock server, which answers
// every request with one pre-made certificate (cmp_mock_server.h): its
// backend entry therefore requests certificates for that certificate's key
// and address (fixed_answer), and where the contract speaks of several
// different certificates (unique serials) the suite says what the mock can
// show instead. The backend's own checks of a CA's answer (another key,
// another address) are in ca_cmp_test.cc.
//
// The "router" entry runs the suite through the per-domain CA router
// (keyservice.ca.domains) with the CMP backend as its default.
//
// Also: KeyServiceImpl uses the CA its factory makes (the seam is real).
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "keyservice/ca_factory.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/cmp_mock_server.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

// One backend under test: how to make it over a store in a directory, and
// the keys it can certify.
struct Backend {
  std::string name;
  CaConfig config;
  CaFactory factory;
  std::function<PkeyPtr(KeyType)> new_key;
  // The CA answers every request with one pre-made certificate (the mock),
  // for mock_address and the key new_key returns.
  bool fixed_answer = false;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

constexpr const char* kMockAddress = "alice@example.com";

// OpenSSL's CMP mock with a pre-made certificate for kMockAddress, one for
// the whole test program (started on first use, stopped at exit).
struct CmpMockEnvironment {
  testing::TempDir dir;
  testing::CmpTestPki pki{dir.path(), std::chrono::system_clock::now()};
  // RSA: the contract checks S/MIME encryption, which wants keyEncipherment.
  PkeyPtr key{GenerateKey(KeyType::kRsa2048)->release()};
  std::string rsp_cert = pki.Leaf("alice", kMockAddress, key.get());
  testing::CmpMockServer mock{pki.MockArgs(rsp_cert), dir.path()};

  static CmpMockEnvironment& Get() {
    static CmpMockEnvironment env;
    return env;
  }
};

std::vector<Backend> Backends() {
  CaConfig builtin;
  builtin.backend = "builtin";
  builtin.key_type = KeyType::kEcdsaP256;
  builtin.organization = "contract test";
  CaConfig cmp;
  cmp.backend = "cmp";
  CaFactory cmp_factory = [](const CaConfig& config, const CaContext& context) {
    auto& env = CmpMockEnvironment::Get();
    CaConfig c = config;
    c.cmp = env.pki.Config(env.mock.url(), "mac");
    return DefaultCaFactory()(c, context);
  };
  auto fresh = [](KeyType type) { return std::move(*GenerateKey(type)); };
  auto mock_key = [](KeyType) {
    EVP_PKEY* k = CmpMockEnvironment::Get().key.get();
    EVP_PKEY_up_ref(k);
    return PkeyPtr(k);
  };
  // The per-domain router (ca_router.h) in front of the CMP backend as the
  // default, with another domain on the built-in CA: the contract holds
  // through the router for the addresses it routes to its default.
  CaConfig router = cmp;
  DomainCaConfig other;
  other.domain = "other.example";
  other.backend = "builtin";
  router.domains.push_back(other);
  router.key_type = KeyType::kEcdsaP256;
  return {Backend{"builtin", builtin, DefaultCaFactory(), fresh, false},
          Backend{"cmp", cmp, cmp_factory, mock_key, true},
          Backend{"router", router, cmp_factory, mock_key, true}};
}

class CaContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    ca_.reset();
    store_.reset();
    auto kek = Kek::FromMaterial(std::string(64, 'a'), "test");
    ASSERT_TRUE(kek.ok());
    kek_ = std::make_unique<Kek>(std::move(*kek));
    auto store = KeyStore::Open((dir_.path() / "store").string());
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
    auto ca = GetParam().factory(GetParam().config, CaContext{*store_, *kek_, clock_});
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = std::move(*ca);
  }
  // The address a request names: the mock's answer names kMockAddress only.
  std::string Address(const std::string& wanted) const {
    return GetParam().fixed_answer ? kMockAddress : wanted;
  }
  // A key pair the backend can certify and a request for `address`.
  IssueRequest Request(const std::string& address, PkeyPtr* key_out = nullptr,
                       KeyType type = KeyType::kEcdsaP256) {
    PkeyPtr key = GetParam().new_key(type);
    EXPECT_TRUE(key);
    IssueRequest r{Address(address), *PublicKeyDer(key.get()), clock_.Now(), key.get()};
    std::lock_guard<std::mutex> lock(keys_mu_);
    if (key_out) {
      *key_out = std::move(key);
    } else {
      keys_.push_back(std::move(key));
    }
    return r;
  }
  // X509_verify_cert against the backend's root, as a partner would.
  std::string Verify(const IssuedCertificate& issued, int purpose) {
    X509Ptr leaf = std::move(*ParseCertificateDer(issued.certificate_der));
    X509Ptr root = std::move(*ParseCertificateDer(ca_->RootCertificateDer()));
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, root.get());
    STACK_OF(X509)* chain = sk_X509_new_null();
    std::vector<X509Ptr> held;
    for (const auto& d : issued.chain_der) {
      held.push_back(std::move(*ParseCertificateDer(d)));
      sk_X509_push(chain, held.back().get());
    }
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf.get(), chain);
    X509_STORE_CTX_set_purpose(ctx, purpose);
    X509_STORE_CTX_set_time(ctx, 0, std::chrono::system_clock::to_time_t(clock_.Now()));
    std::string result =
        X509_verify_cert(ctx) == 1 ? "ok" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    X509_STORE_CTX_free(ctx);
    sk_X509_free(chain);
    X509_STORE_free(store);
    return result;
  }

  testing::TempDir dir_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::mutex keys_mu_;
  std::vector<PkeyPtr> keys_;  // the keys of requests, alive until the test ends
  std::unique_ptr<Kek> kek_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<CertificateAuthority> ca_;
};

TEST_P(CaContractTest, IssuesAMailboxCertificateForTheRequestedKey) {
  PkeyPtr key;
  auto issued = ca_->Issue(Request("alice@example.com", &key));
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  auto cert = ParseCertificateDer(issued->certificate_der);
  ASSERT_TRUE(cert.ok());
  EXPECT_TRUE(CertificateMatchesKey(cert->get(), key.get()));
  auto names = EmailAddresses(cert->get());
  EXPECT_NE(std::find(names.begin(), names.end(), "alice@example.com"), names.end());
  EXPECT_EQ(issued->chain_der.front(), ca_->IssuingCertificateDer());
  EXPECT_EQ(X509_check_ca(cert->get()), 0) << "an end-entity certificate";
  EXPECT_TRUE(X509_get_extended_key_usage(cert->get()) & XKU_SMIME);
  int64_t now = UnixSeconds(clock_.Now());
  EXPECT_LE(NotBefore(cert->get()), now);
  EXPECT_GT(NotAfter(cert->get()), now + 24 * 3600);
}

TEST_P(CaContractTest, ChainVerifiesToTheRootForSigningAndEncryption) {
  auto issued = ca_->Issue(Request("bob@example.com", nullptr, KeyType::kRsa2048));
  ASSERT_TRUE(issued.ok()) << issued.error().ToString();
  ASSERT_FALSE(issued->chain_der.empty());
  EXPECT_EQ(issued->chain_der.front(), ca_->IssuingCertificateDer()) << "issuing CA first";
  for (const auto& c : issued->chain_der) EXPECT_NE(c, ca_->RootCertificateDer()) << "root excluded";
  EXPECT_EQ(Verify(*issued, X509_PURPOSE_SMIME_SIGN), "ok");
  EXPECT_EQ(Verify(*issued, X509_PURPOSE_SMIME_ENCRYPT), "ok");
}

TEST_P(CaContractTest, SerialsAreUniqueAndIssueIsThreadSafe) {
  std::vector<IssueRequest> requests;
  for (int i = 0; i < 16; ++i) requests.push_back(Request("user" + std::to_string(i) + "@example.com"));
  std::vector<Result<IssuedCertificate>> results(requests.size(),
                                                 MakeError(ErrorCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < requests.size(); i += 4) results[i] = ca_->Issue(requests[i]);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> serials;
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().ToString();
    auto cert = ParseCertificateDer(results[i]->certificate_der);
    ASN1_INTEGER* serial = X509_get_serialNumber(cert->get());
    serials.insert(std::string(reinterpret_cast<const char*>(serial->data),
                               static_cast<size_t>(serial->length)));
    EXPECT_EQ(Verify(*results[i], X509_PURPOSE_SMIME_SIGN), "ok");
  }
  if (GetParam().fixed_answer) {
    // Every answer of the mock is its one pre-made certificate: what it
    // shows is that concurrent exchanges all complete and pass our checks.
    EXPECT_EQ(serials.size(), 1u);
  } else {
    EXPECT_EQ(serials.size(), requests.size());
  }
}

TEST_P(CaContractTest, RejectsAMalformedPublicKey) {
  PkeyPtr key = GetParam().new_key(KeyType::kEcdsaP256);
  auto r = ca_->Issue(IssueRequest{Address("alice@example.com"), "not a key", clock_.Now(), key.get()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(CaContractTest, RootAndIssuingCaSurviveAReopen) {
  std::string root = ca_->RootCertificateDer();
  std::string issuing = ca_->IssuingCertificateDer();
  ASSERT_FALSE(root.empty());
  Open();
  EXPECT_EQ(ca_->RootCertificateDer(), root);
  EXPECT_EQ(ca_->IssuingCertificateDer(), issuing);
  auto issued = ca_->Issue(Request("carol@example.com"));
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(Verify(*issued, X509_PURPOSE_SMIME_SIGN), "ok");
}

INSTANTIATE_TEST_SUITE_P(Backends, CaContractTest, ::testing::ValuesIn(Backends()),
                         [](const auto& p) { return p.param.name; });

// A CA that is down: what an external backend reports when unreachable.
class UnreachableCa : public CertificateAuthority {
 public:
  explicit UnreachableCa(std::string root) : root_(std::move(root)) {}
  Result<IssuedCertificate> Issue(const IssueRequest&) override {
    ++calls;
    return MakeError(ErrorCode::kUnavailable, "test CA unreachable");
  }
  std::string RootCertificateDer() const override { return root_; }
  std::string IssuingCertificateDer() const override { return root_; }
  int calls = 0;

 private:
  std::string root_;
};

TEST(CaFactoryTest, KeyServiceUsesTheCaItsFactoryMakes) {
  testing::TempDir dir;
  auto config = testing::TestConfig(dir.path());
  metrics::Registry registry;
  SystemClock clock;
  auto test_root = testing::MakeCa("Injected CA", clock.Now());
  UnreachableCa* made = nullptr;
  CaFactory factory = [&](const CaConfig&,
                          const CaContext&) -> Result<std::unique_ptr<CertificateAuthority>> {
    auto ca = std::make_unique<UnreachableCa>(test_root.der);
    made = ca.get();
    return std::unique_ptr<CertificateAuthority>(std::move(ca));
  };
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry, clock, factory);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  ASSERT_NE(made, nullptr);
  EXPECT_EQ((*ks)->CaExport()->root_der, test_root.der);
  ASSERT_TRUE((*ks)->PutUsers({User{"alice@example.com", true, ""}}).ok());
  auto id = (*ks)->GetSigningIdentity("alice@example.com");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kUnavailable) << "a transient error: the message is retried";
  EXPECT_EQ(made->calls, 1);
  EXPECT_TRUE((*ks)->ListCertificates("alice@example.com", "own")->empty()) << "nothing stored";
}

// The built-in CA, recording the key updates it is asked for.
class RenewRecordingCa : public CertificateAuthority {
 public:
  explicit RenewRecordingCa(std::unique_ptr<CertificateAuthority> inner) : inner_(std::move(inner)) {}
  Result<IssuedCertificate> Issue(const IssueRequest& r) override { return inner_->Issue(r); }
  Result<IssuedCertificate> Renew(const RenewRequest& r) override {
    old_certificate = r.old_certificate_der;
    old_key_matches = r.old_key != nullptr &&
                      CertificateMatchesKey(ParseCertificateDer(r.old_certificate_der)->get(), r.old_key);
    return inner_->Issue(r.request);
  }
  std::string RootCertificateDer() const override { return inner_->RootCertificateDer(); }
  std::string IssuingCertificateDer() const override { return inner_->IssuingCertificateDer(); }
  std::string old_certificate;
  bool old_key_matches = false;

 private:
  std::unique_ptr<CertificateAuthority> inner_;
};

TEST(CaFactoryTest, RolloverAsksTheCaToUpdateTheCurrentCertificate) {
  testing::TempDir dir;
  auto config = testing::TestConfig(dir.path());
  metrics::Registry registry;
  FakeClock clock{std::chrono::system_clock::now()};
  RenewRecordingCa* made = nullptr;
  CaFactory factory = [&](const CaConfig& c,
                          const CaContext& ctx) -> Result<std::unique_ptr<CertificateAuthority>> {
    SG_ASSIGN_OR_RETURN(auto inner, DefaultCaFactory()(c, ctx));
    auto ca = std::make_unique<RenewRecordingCa>(std::move(inner));
    made = ca.get();
    return std::unique_ptr<CertificateAuthority>(std::move(ca));
  };
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry, clock, factory);
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  ASSERT_TRUE((*ks)->PutUsers({User{"alice@example.com", true, ""}}).ok());
  auto first = (*ks)->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(first.ok() && first->has_value());
  clock.Advance(config.ca.validity - config.rollover_before / 2);
  auto rolled = (*ks)->RolloverDue();
  ASSERT_TRUE(rolled.ok()) << rolled.error().ToString();
  EXPECT_EQ(*rolled, 1);
  EXPECT_EQ(made->old_certificate, (*first)->certificate_der) << "a key update of the current one";
  EXPECT_TRUE(made->old_key_matches);
}

TEST(CaFactoryTest, UnknownBackendIsAConfigError) {
  testing::TempDir dir;
  auto kek = Kek::FromMaterial(std::string(64, 'a'), "test");
  auto store = KeyStore::Open((dir.path() / "store").string());
  ASSERT_TRUE(store.ok());
  SystemClock clock;
  CaConfig config;
  config.backend = "acme";
  auto ca = DefaultCaFactory()(config, CaContext{**store, *kek, clock});
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().message.find("keyservice.ca.backend"), std::string::npos);
}

}  // namespace
}  // namespace sg::keyservice
