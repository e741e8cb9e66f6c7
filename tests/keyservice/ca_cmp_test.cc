// The CMP backend (keyservice/cmp_ca.h) against OpenSSL's own CMP mock
// server on loopback (cmp_mock_server.h): MAC and signature protection,
// polling, a refusal, key update (kur), revocation (rr), a CA that is down
// or silent, and the checks on the CA's answer (the mock answers with
// whatever pre-made certificate it was given, so each check is shown with
// a pre-made certificate that must fail it). The contract every backend
// keeps is ca_contract_test.cc.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/cmp.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "keyservice/ca_factory.h"
#include "keyservice/cmp_ca.h"
#include "keyservice/key_service_impl.h"
#include "keyservice/cmp_request.h"
#include "tests/keyservice/cmp_mock_server.h"
#include "tests/keyservice/dns_test_server.h"
#include "tests/support/fake_clock.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using testing::CmpMockServer;
using testing::CmpTestPki;

// A TCP socket bound to a free loopback port; *port receives the port.
int LoopbackSocket(int* port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return s;
}

class CmpCaTest : public ::testing::Test {
 protected:
  // A key and the mock's pre-made certificate for it (alice).
  void SetUp() override { alice_cert_ = pki_.Leaf("alice", "alice@example.com", alice_key_.get()); }

  std::unique_ptr<CmpMockServer> StartMock(const std::string& rsp_cert,
                                           std::vector<std::string> extra = {}, bool mac = true) {
    auto args = pki_.MockArgs(rsp_cert);
    if (!mac) args.erase(args.begin(), args.begin() + 4);  // -srv_ref, -srv_secret: signatures only
    args.insert(args.end(), extra.begin(), extra.end());
    auto mock = std::make_unique<CmpMockServer>(args, dir_.path());
    EXPECT_TRUE(mock->ok()) << mock->Log();
    return mock;
  }
  std::unique_ptr<CmpCa> Open(const CmpConfig& config) {
    auto ca = CmpCa::Open(config);
    EXPECT_TRUE(ca.ok()) << ca.error().ToString();
    return ca.ok() ? std::move(*ca) : nullptr;
  }
  IssueRequest Request(EVP_PKEY* key, const std::string& address = "alice@example.com") {
    return IssueRequest{address, *PublicKeyDer(key), std::chrono::system_clock::now(), key};
  }
  std::string Der(const std::string& pem_path) {
    FILE* f = fopen(pem_path.c_str(), "r");
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    fclose(f);
    X509Ptr cert(x);
    return *CertificateToDer(cert.get());
  }

  testing::TempDir dir_;
  CmpTestPki pki_{dir_.path(), std::chrono::system_clock::now()};
  PkeyPtr alice_key_{GenerateKey(KeyType::kEcdsaP256)->release()};
  std::string alice_cert_;
};

TEST_F(CmpCaTest, MacProtectedIssueReturnsTheCertificateAndThePinnedChain) {
  auto mock = StartMock(alice_cert_);
  auto ca = Open(pki_.Config(mock->url(), "mac"));
  auto issued = ca->Issue(Request(alice_key_.get()));
  ASSERT_TRUE(issued.ok()) << issued.error().ToString() << mock->Log();
  EXPECT_EQ(issued->certificate_der, Der(alice_cert_));
  ASSERT_EQ(issued->chain_der.size(), 1u);
  EXPECT_EQ(issued->chain_der[0], ca->IssuingCertificateDer());
  EXPECT_EQ(ca->RootCertificateDer(), Der(pki_.root_pem));
}

TEST_F(CmpCaTest, SignatureProtectedIssueUsesTheClientCertificate) {
  auto mock = StartMock(alice_cert_, {}, /*mac=*/false);
  auto ca = Open(pki_.Config(mock->url(), "signature"));
  auto issued = ca->Issue(Request(alice_key_.get()));
  ASSERT_TRUE(issued.ok()) << issued.error().ToString() << mock->Log();
  // The mock without a secret cannot check a MAC: a MAC-protected request fails.
  auto mac = Open(pki_.Config(mock->url(), "mac"));
  EXPECT_FALSE(mac->Issue(Request(alice_key_.get())).ok());
}

TEST_F(CmpCaTest, AWrongSharedSecretGetsNoCertificate) {
  auto mock = StartMock(alice_cert_);
  auto config = pki_.Config(mock->url(), "mac");
  config.secret_file = (dir_.path() / "wrong.secret").string();
  testing::WriteFile(config.secret_file, "not the secret\n");
  auto issued = Open(config)->Issue(Request(alice_key_.get()));
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kPermissionDenied) << issued.error().ToString();
  EXPECT_NE(issued.error().message.find("protection"), std::string::npos) << issued.error().ToString();
  EXPECT_EQ(issued.error().message.find("not the secret"), std::string::npos) << "never logged";
}

TEST_F(CmpCaTest, TheRequestCarriesTheAddressAndAsksForEmailProtection) {
  auto mock = StartMock(alice_cert_);
  auto config = pki_.Config(mock->url(), "mac");
  auto cred = LoadCmpCredentials(config);
  ASSERT_TRUE(cred.ok());
  auto ctx = NewCmpContext(config, *cred, CmpProtection::kConfigured);
  ASSERT_TRUE(ctx.ok());
  ASSERT_TRUE(SetCertTemplate(ctx->get(), Request(alice_key_.get())).ok());
  static std::string sent;  // the ir as DER, captured on its way to the mock
  sent.clear();
  OSSL_CMP_CTX_set_transfer_cb(ctx->get(), [](OSSL_CMP_CTX* c, const OSSL_CMP_MSG* req) {
    if (sent.empty()) {
      unsigned char* der = nullptr;
      int n = i2d_OSSL_CMP_MSG(req, &der);
      sent.assign(reinterpret_cast<char*>(der), n);
      OPENSSL_free(der);
    }
    return OSSL_CMP_MSG_http_perform(c, req);
  });
  X509* cert = OSSL_CMP_exec_IR_ses(ctx->get());
  ASSERT_NE(cert, nullptr) << OpenSslError();
  // rfc822Name [1] IA5String "alice@example.com" and OID 1.3.6.1.5.5.7.3.4.
  EXPECT_NE(sent.find(std::string("\x81\x11") + "alice@example.com"), std::string::npos);
  EXPECT_NE(sent.find("\x06\x08\x2b\x06\x01\x05\x05\x07\x03\x04"), std::string::npos);
  // And the key never leaves: the private scalar is not in the message.
  auto priv = PrivateKeyToDer(alice_key_.get());
  ASSERT_TRUE(priv.ok());
  BIGNUM* d = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(alice_key_.get(), "priv", &d), 1);
  std::string scalar(BN_num_bytes(d), '\0');
  BN_bn2bin(d, reinterpret_cast<unsigned char*>(scalar.data()));
  BN_free(d);
  EXPECT_EQ(sent.find(scalar), std::string::npos);
}

TEST_F(CmpCaTest, DelayedIssuanceIsPolled) {
  auto mock = StartMock(alice_cert_, {"-poll_count", "2", "-check_after", "1"});
  auto issued = Open(pki_.Config(mock->url(), "mac"))->Issue(Request(alice_key_.get()));
  EXPECT_TRUE(issued.ok()) << issued.error().ToString() << mock->Log();
}

TEST_F(CmpCaTest, StillPendingAfterTheTotalTimeoutIsATransientError) {
  auto mock = StartMock(alice_cert_, {"-poll_count", "10", "-check_after", "2"});
  auto config = pki_.Config(mock->url(), "mac");
  config.message_timeout = 1s;
  config.total_timeout = 3s;
  auto start = std::chrono::steady_clock::now();
  auto issued = Open(config)->Issue(Request(alice_key_.get()));
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kUnavailable) << issued.error().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_NE(issued.error().message.find("pending"), std::string::npos) << issued.error().ToString();
}

TEST_F(CmpCaTest, ARefusalIsPermissionDeniedWithTheCasReason) {
  auto mock = StartMock(alice_cert_, {"-pkistatus", "2", "-failure", "2", "-statusstring",
                                      "domain not validated"});
  auto issued = Open(pki_.Config(mock->url(), "mac"))->Issue(Request(alice_key_.get()));
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kPermissionDenied) << issued.error().ToString();
  EXPECT_NE(issued.error().message.find("domain not validated"), std::string::npos)
      << issued.error().ToString();
}

TEST_F(CmpCaTest, ACertificateForAnotherKeyIsRejected) {
  PkeyPtr other(GenerateKey(KeyType::kEcdsaP256)->release());
  auto mock = StartMock(alice_cert_);
  auto issued = Open(pki_.Config(mock->url(), "mac"))->Issue(Request(other.get()));
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kCorruption) << issued.error().ToString();
  EXPECT_NE(issued.error().message.find("not for the key"), std::string::npos);
}

TEST_F(CmpCaTest, ACertificateForAnotherAddressIsRejected) {
  auto mock = StartMock(alice_cert_);
  auto issued =
      Open(pki_.Config(mock->url(), "mac"))->Issue(Request(alice_key_.get(), "bob@example.com"));
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kCorruption);
  EXPECT_NE(issued.error().message.find("does not name bob@example.com"), std::string::npos)
      << issued.error().ToString();
}

TEST_F(CmpCaTest, ACertificateWithoutEmailProtectionIsRejected) {
  auto mock = StartMock(pki_.Leaf("noeku", "alice@example.com", alice_key_.get(), "clientAuth"));
  auto issued = Open(pki_.Config(mock->url(), "mac"))->Issue(Request(alice_key_.get()));
  ASSERT_FALSE(issued.ok());
  EXPECT_NE(issued.error().message.find("emailProtection"), std::string::npos)
      << issued.error().ToString();
}

TEST_F(CmpCaTest, ACertificateOutsideThePinnedRootIsRejected) {
  std::filesystem::create_directories(dir_.path() / "other");
  CmpTestPki elsewhere(dir_.path() / "other", std::chrono::system_clock::now());
  auto mock = StartMock(elsewhere.Leaf("alice", "alice@example.com", alice_key_.get()));
  auto issued = Open(pki_.Config(mock->url(), "mac"))->Issue(Request(alice_key_.get()));
  ASSERT_FALSE(issued.ok());
  EXPECT_NE(issued.error().message.find("does not chain to the pinned root"), std::string::npos)
      << issued.error().ToString();
}

TEST_F(CmpCaTest, KeyUpdateIsSignedWithTheOldKey) {
  // OpenSSL 3.0's mock updates only its own certificate (oldCertID must name
  // -rsp_cert, else "wrong certid") and answers with that same certificate,
  // so the update it can show is the one of alice's certificate to itself.
  auto mock = StartMock(alice_cert_, {}, /*mac=*/false);
  auto ca = Open(pki_.Config(mock->url(), "mac"));
  std::string old_cert = Der(alice_cert_);
  auto renewed = ca->Renew(RenewRequest{Request(alice_key_.get()), old_cert, alice_key_.get()});
  // This mock checks no MAC (SignatureProtectedIssueUsesTheClientCertificate):
  // the kur went signed with the old key, although the config says mac.
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString() << mock->Log();
  EXPECT_EQ(renewed->certificate_der, old_cert);
  // A wrong old key is refused before anything is sent.
  PkeyPtr stranger(GenerateKey(KeyType::kEcdsaP256)->release());
  auto wrong = ca->Renew(RenewRequest{Request(alice_key_.get()), old_cert, stranger.get()});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(CmpCaTest, ACertificateFromElsewhereIsReplacedByAFreshRequest) {
  // An imported key's certificate is not the CA's to update: ir, MAC-protected.
  auto mock = StartMock(alice_cert_);
  auto ca = Open(pki_.Config(mock->url(), "mac"));
  auto imported_ca = testing::MakeCa("Imported", std::chrono::system_clock::now());
  PkeyPtr old_key;
  std::string old_cert = testing::MakeLeaf(
      imported_ca, {"alice@example.com", std::chrono::system_clock::now() - 1h,
                    std::chrono::system_clock::now() + 24h},
      &old_key);
  auto renewed = ca->Renew(RenewRequest{Request(alice_key_.get()), old_cert, old_key.get()});
  ASSERT_TRUE(renewed.ok()) << renewed.error().ToString() << mock->Log();
  EXPECT_EQ(renewed->certificate_der, Der(alice_cert_));
}

TEST_F(CmpCaTest, RevocationOfAnIssuedCertificate) {
  auto mock = StartMock(alice_cert_);
  auto ca = Open(pki_.Config(mock->url(), "mac"));
  auto st = ca->Revoke(Der(alice_cert_), 1 /* keyCompromise */);
  EXPECT_TRUE(st.ok()) << st.error().ToString() << mock->Log();
  // The mock revokes only its own certificate: another one is refused.
  PkeyPtr k(GenerateKey(KeyType::kEcdsaP256)->release());
  auto refused = ca->Revoke(Der(pki_.Leaf("bob", "bob@example.com", k.get())), 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied) << refused.error().ToString();
}

TEST_F(CmpCaTest, AnUnreachableCaIsATransientError) {
  int port = 0;
  close(LoopbackSocket(&port));  // nothing listens there now
  auto config = pki_.Config("http://127.0.0.1:" + std::to_string(port) + "/pkix/", "mac");
  config.message_timeout = 2s;  // OpenSSL retries a refused connect until then
  auto start = std::chrono::steady_clock::now();
  auto issued = Open(config)->Issue(Request(alice_key_.get()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kUnavailable) << issued.error().ToString();
}

TEST_F(CmpCaTest, ASilentCaIsBoundedByTheMessageTimeout) {
  int port = 0;
  int s = LoopbackSocket(&port);
  ASSERT_EQ(listen(s, 4), 0);  // accepts connections (backlog), never answers
  auto config = pki_.Config("http://127.0.0.1:" + std::to_string(port) + "/pkix/", "mac");
  config.message_timeout = 1s;
  config.total_timeout = 2s;
  auto start = std::chrono::steady_clock::now();
  auto issued = Open(config)->Issue(Request(alice_key_.get()));
  auto took = std::chrono::steady_clock::now() - start;
  close(s);
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kUnavailable) << issued.error().ToString();
  EXPECT_LT(took, 5s);
}

// The issue's failure handling, keyservice side: with the CA down, a user
// who has a valid certificate keeps signing with it, and a new user's first
// use fails with a transient error (the message is retried from the queue),
// counted in smimegate_keyservice_ca_failures_total.
TEST_F(CmpCaTest, WithTheCaDownAValidCertificateKeepsWorking) {
  auto config = testing::TestConfig(dir_.path() / "ks");
  config.ca.backend = "cmp";
  config.ca.cmp = pki_.Config("http://127.0.0.1:1/pkix/", "mac");  // nothing listens on port 1
  config.ca.cmp.message_timeout = 1s;
  config.ca.cmp.total_timeout = 2s;
  testing::DnsTestServer dns(dir_.path() / "dns");
  ASSERT_TRUE(dns.ok());
  config.dns = dns.Options();
  metrics::Registry registry;
  sg::testing::FakeClock clock(std::chrono::system_clock::now());
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry, clock, DefaultCaFactory());
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  // A public CA certifies only validated domains (domain_gate_test.cc).
  ASSERT_TRUE(testing::ValidateDomainForTest(**ks, dns, clock, "example.com").ok());
  ASSERT_TRUE((*ks)->PutUsers({User{"alice@example.com", true, ""}, User{"bob@example.com", true, ""}}).ok());
  std::string p12 = testing::MakePkcs12(Der(alice_cert_), alice_key_.get(), "pw", false, dir_.path());
  ASSERT_TRUE((*ks)->ImportKey("alice@example.com", p12, "pw").ok());

  auto alice = (*ks)->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(alice.ok()) << alice.error().ToString();
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((*alice)->certificate_der, Der(alice_cert_));

  auto bob = (*ks)->GetSigningIdentity("bob@example.com");
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.error().code, ErrorCode::kUnavailable) << bob.error().ToString();
  EXPECT_TRUE(IsTransient(bob.error().code));
  auto& failures = registry.AddCounter("smimegate_keyservice_ca_failures_total", "", {"reason", "code"});
  // Asked in the background (issuance_queue.h): under load the request may
  // end after the answer; wait for it (bounded).
  for (int i = 0; i < 3000 && failures.WithLabels({"first_use", "unavailable"}).Value() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(failures.WithLabels({"first_use", "unavailable"}).Value(), 1.0);
}

}  // namespace
}  // namespace sg::keyservice
