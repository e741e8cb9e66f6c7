// The chain memo of SmimeEngine::Verify (smime_chain_memo.h, issue 21):
// the memoised path gives the verdicts, texts and content of the full
// validation, and a trust-store change, a revocation change and certificate
// expiry each change a memoised result.
#include "workers/smime/smime_chain_memo.h"

#include <gtest/gtest.h>
#include <openssl/asn1.h>

#include <string>
#include <vector>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

using testing::GetTestPki;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::RemoveTree;
using testing::RunTool;
using testing::SampleEntity;
using testing::SampleMessage;
using testing::TestIdentity;
using testing::WriteFile;

std::string Der(const X509Ptr& cert) {
  if (!cert) return {};
  unsigned char* buf = nullptr;
  const int len = i2d_X509(cert.get(), &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len > 0 ? len : 0));
  OPENSSL_free(buf);
  return out;
}

std::time_t NotAfter(const X509Ptr& cert) {
  struct tm t {};
  EXPECT_EQ(ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &t), 1);
  return timegm(&t);
}

// Everything a caller reads from a VerifyResult, as one comparable text.
std::string Summary(const VerifyResult& v) {
  std::string s = std::string(VerifyStatusName(v.status)) + "|" + v.detail + "|" + v.content + "|" +
                  std::to_string(static_cast<int>(v.content_kind)) + "|" +
                  std::to_string(v.opaque) + "|" + std::to_string(v.principal) + "|" +
                  Der(v.signer) + "|";
  for (const X509Ptr& c : v.chain) s += Der(c) + ",";
  for (const SignerResult& sr : v.signers) {
    s += std::string(VerifyStatusName(sr.status)) + ":" + sr.detail + ":" + sr.digest + ":";
    for (const std::string& a : sr.addresses) s += a + ";";
  }
  return s;
}

// A RevocationChecker whose answer the test switches.
class SwitchRevocation final : public RevocationChecker {
 public:
  RevocationVerdict Check(const std::vector<X509Ptr>& /*chain*/,
                          std::string_view /*domain*/) override {
    ++calls;
    RevocationVerdict v;
    if (revoked) {
      v.state = RevocationState::kRevoked;
      v.fail = true;
      v.detail = "revoked (test)";
    }
    return v;
  }
  bool revoked = false;
  int calls = 0;
};

class ChainMemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = SmimeEngine::Create().value();
    const auto& pki = GetTestPki();
    TrustStoreOptions o;
    o.anchors.push_back(pki.root.cert);
    o.intermediates.push_back(pki.intermediate.cert);  // for signatures without the chain
    trust_ = TrustStore::Create(o).value();
  }
  VerifyResult Run(const std::string& msg, bool memo, std::time_t now, VerifyOptions options = {}) {
    options.use_chain_memo = memo;
    auto r = engine_->Verify(msg, trust_, now, options);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? std::move(r).value() : VerifyResult{};
  }
  std::string Sign(const TestIdentity& id, const std::string& from, bool chain = true) {
    SignOptions o;
    o.include_chain = chain;
    return engine_->Sign(SampleMessage(from), id.Signer(), o).value();
  }
  std::unique_ptr<SmimeEngine> engine_;
  TrustStore trust_;
};

// openssl cms output, opaque and detached, RSA and P-256, with the chain.
std::vector<std::string> OpensslCorpus() {
  const auto& pki = GetTestPki();
  const std::string dir = MakeTempDir("sgmemo");
  std::vector<std::string> out;
  WriteFile(dir + "/entity.txt", SampleEntity("Hello from openssl cms"));
  for (const TestIdentity* id : {&pki.alice, &pki.bob}) {
    for (bool detached : {true, false}) {
      std::string log;
      std::string command = "openssl cms -sign -in " + dir + "/entity.txt";
      command.append(" -signer ").append(id->cert_path).append(" -inkey ").append(id->key_path);
      command.append(" -certfile ").append(pki.chain_path);
      command.append(detached ? "" : " -nodetach").append(" -out ").append(dir).append("/sig.eml");
      const int rc = RunTool(command, &log);
      EXPECT_EQ(rc, 0) << log;
      out.push_back("From: " + id->email + "\nTo: x@example.net\nSubject: from openssl\nDate: " +
                    testing::DateNow() + "\n" + ReadFile(dir + "/sig.eml"));
    }
  }
  RemoveTree(dir);
  return out;
}

TEST_F(ChainMemoTest, MemoisedVerdictsTextsAndContentEqualTheFullValidation) {
  const auto& pki = GetTestPki();
  std::vector<std::string> corpus = OpensslCorpus();
  corpus.push_back(Sign(pki.alice, "alice@example.com"));
  corpus.push_back(Sign(pki.alice, "alice@example.com", /*chain=*/false));
  corpus.push_back(Sign(pki.bob, "bob@example.com"));
  corpus.push_back(Sign(pki.bob, "bob@example.com", /*chain=*/false));
  corpus.push_back(Sign(pki.expired, "old@example.com"));
  corpus.push_back(Sign(pki.mallory, pki.mallory.email));   // untrusted root
  corpus.push_back(Sign(pki.server, "alice@example.com"));  // wrong purpose
  corpus.push_back(Sign(pki.alice, "bob@example.com"));     // signer does not name From
  std::string tampered = Sign(pki.alice, "alice@example.com");
  tampered.replace(tampered.find("this is a test"), 4, "THIS");
  corpus.push_back(tampered);
  // A byte near the end of the CMS (inside the ECDSA signature value) changed.
  std::string bad_sig = Sign(pki.bob, "bob@example.com");
  const size_t sig_part = bad_sig.find("application/pkcs7-signature", bad_sig.find("\r\n\r\n"));
  ASSERT_NE(sig_part, std::string::npos);
  const size_t sig_end = bad_sig.find("\r\n--", sig_part);
  ASSERT_NE(sig_end, std::string::npos);
  size_t at = sig_end - 20;
  while (bad_sig[at] == '\r' || bad_sig[at] == '\n') --at;
  bad_sig[at] = bad_sig[at] == 'A' ? 'B' : 'A';
  corpus.push_back(bad_sig);

  const std::time_t now = std::time(nullptr);
  int good = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string full = Summary(Run(corpus[i], false, now));
    const std::string first = Summary(Run(corpus[i], true, now));  // fills the memo
    const std::string again = Summary(Run(corpus[i], true, now));  // from the memo
    EXPECT_EQ(first, full) << "message " << i;
    EXPECT_EQ(again, full) << "message " << i;
    if (full.rfind("good|", 0) == 0) ++good;
  }
  EXPECT_EQ(good, 8);  // the openssl four and the engine's four good ones
  // Four keys (alice, bob; each with and without the chain carried): openssl
  // and the engine carry the same certificates. Every lookup of a chain that
  // validated before is a hit (the wrong-address message's chain is alice's),
  // none for messages whose signature fails (no chain is validated for them).
  const ChainMemoStats stats = engine_->chain_memo_stats();
  EXPECT_EQ(stats.entries, 4u);
  EXPECT_EQ(stats.hits, 14u);
}

TEST_F(ChainMemoTest, ANewTrustStoreDoesNotSeeTheOldResult) {
  const auto& pki = GetTestPki();
  const std::string msg = Sign(pki.alice, "alice@example.com");
  const std::time_t now = std::time(nullptr);
  ASSERT_EQ(Run(msg, true, now).status, VerifyStatus::kGood);
  // The next trust version no longer has the root as an anchor.
  TrustStoreOptions o;
  o.anchors.push_back(pki.rogue_root.cert);
  trust_ = TrustStore::Create(o).value();
  VerifyResult v = Run(msg, true, now);
  EXPECT_EQ(v.status, VerifyStatus::kUntrusted) << v.detail;
  EXPECT_EQ(engine_->chain_memo_stats().hits, 0u);
}

TEST_F(ChainMemoTest, AMemoisedChainEndsWithTheCertificateValidity) {
  const auto& pki = GetTestPki();
  const std::string msg = Sign(pki.alice, "alice@example.com");
  const std::time_t now = std::time(nullptr);
  VerifyOptions no_date;
  no_date.check_date = false;
  ASSERT_EQ(Run(msg, true, now, no_date).status, VerifyStatus::kGood);
  ASSERT_EQ(Run(msg, true, now + 60, no_date).status, VerifyStatus::kGood);
  EXPECT_EQ(engine_->chain_memo_stats().hits, 1u);
  // The message arrives (a fake time) one second after alice's notAfter.
  const std::time_t late = NotAfter(pki.alice.cert) + 1;
  VerifyResult v = Run(msg, true, late, no_date);
  EXPECT_EQ(v.status, VerifyStatus::kExpired) << v.detail;
  EXPECT_EQ(Summary(v), Summary(Run(msg, false, late, no_date)));
  // At notAfter itself the certificate is still valid (OpenSSL's bound).
  EXPECT_EQ(Run(msg, true, NotAfter(pki.alice.cert), no_date).status, VerifyStatus::kGood);
}

TEST_F(ChainMemoTest, ARevocationChangeChangesAMemoisedResult) {
  const auto& pki = GetTestPki();
  const std::string msg = Sign(pki.bob, "bob@example.com");
  const std::time_t now = std::time(nullptr);
  SwitchRevocation revocation;
  VerifyOptions o;
  o.revocation = &revocation;
  ASSERT_EQ(Run(msg, true, now, o).status, VerifyStatus::kGood);
  revocation.revoked = true;
  VerifyResult v = Run(msg, true, now, o);
  EXPECT_EQ(v.status, VerifyStatus::kRevoked) << v.detail;
  EXPECT_EQ(v.detail, "revoked (test)");
  EXPECT_EQ(revocation.calls, 2);
  EXPECT_EQ(engine_->chain_memo_stats().hits, 1u);
}

TEST_F(ChainMemoTest, OtherCarriedCertificatesAreAnotherKey) {
  const auto& pki = GetTestPki();
  const std::time_t now = std::time(nullptr);
  ASSERT_EQ(Run(Sign(pki.alice, "alice@example.com"), true, now).status, VerifyStatus::kGood);
  ASSERT_EQ(Run(Sign(pki.alice, "alice@example.com", false), true, now).status,
            VerifyStatus::kGood);
  EXPECT_EQ(engine_->chain_memo_stats().hits, 0u);
  EXPECT_EQ(engine_->chain_memo_stats().entries, 2u);
}

TEST(ChainMemo, BoundedLeastRecentlyUsedFirst) {
  const auto& pki = GetTestPki();
  internal::ChainMemo memo(2);
  const std::vector<X509Ptr> chain{pki.alice.cert, pki.intermediate.cert, pki.root.cert};
  const std::time_t now = std::time(nullptr);
  memo.Insert("a", chain);
  memo.Insert("b", chain);
  ASSERT_TRUE(memo.Find("a", now));  // a is now the most recent
  memo.Insert("c", chain);           // evicts b
  EXPECT_EQ(memo.size(), 2u);
  EXPECT_TRUE(memo.Find("a", now));
  EXPECT_FALSE(memo.Find("b", now));
  EXPECT_TRUE(memo.Find("c", now));
  EXPECT_FALSE(memo.Find("c", NotAfter(pki.alice.cert) + 1));
  memo.Insert("", chain);  // no key: not memoised
  EXPECT_EQ(memo.size(), 2u);
}

TEST(ChainMemo, KeyNamesSignerCarriedCertificatesTrustAndPurpose) {
  const auto& pki = GetTestPki();
  const std::vector<X509Ptr> carried{pki.intermediate.cert};
  const std::string k = internal::ChainMemoKey(pki.alice.cert.get(), carried, 7, 1);
  EXPECT_FALSE(k.empty());
  EXPECT_EQ(k, internal::ChainMemoKey(pki.alice.cert.get(), carried, 7, 1));
  EXPECT_NE(k, internal::ChainMemoKey(pki.carol.cert.get(), carried, 7, 1));
  EXPECT_NE(k, internal::ChainMemoKey(pki.alice.cert.get(), {}, 7, 1));
  EXPECT_NE(k, internal::ChainMemoKey(pki.alice.cert.get(), carried, 8, 1));
  EXPECT_NE(k, internal::ChainMemoKey(pki.alice.cert.get(), carried, 7, 2));
}

}  // namespace
}  // namespace sg::smime
