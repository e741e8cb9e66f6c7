// Round trips and verification statuses of the S/MIME engine.
#include "workers/smime/smime_engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_metrics.h"

namespace sg::smime {
namespace {

using testing::GetTestPki;
using testing::SampleMessage;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { engine_ = SmimeEngine::Create().value(); }
  VerifyResult VerifyNow(const std::string& msg) {
    auto r = engine_->Verify(msg, GetTestPki().Trust(), std::time(nullptr));
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return std::move(r).value();
  }
  std::unique_ptr<SmimeEngine> engine_;
};

TEST_F(EngineTest, RsaSignatureVerifiesGoodWithChainAndCapabilities) {
  const auto& pki = GetTestPki();
  auto signed_msg = engine_->Sign(SampleMessage(), pki.alice.Signer());
  ASSERT_TRUE(signed_msg.ok()) << signed_msg.error().ToString();
  EXPECT_EQ(DetectSmime(*signed_msg), SmimeKind::kSignedDetached);
  EXPECT_NE(signed_msg->find("Subject: test message\r\n"), std::string::npos);
  EXPECT_NE(signed_msg->find("micalg=sha-256"), std::string::npos);
  VerifyResult v = VerifyNow(*signed_msg);
  EXPECT_EQ(v.status, VerifyStatus::kGood) << v.detail;
  ASSERT_TRUE(v.signer);
  EXPECT_EQ(X509_cmp(v.signer.get(), pki.alice.cert.get()), 0);
  EXPECT_EQ(v.chain.size(), 3u);  // alice, intermediate, root
  EXPECT_TRUE(v.capabilities.aes_gcm);
  EXPECT_TRUE(v.capabilities.aes_cbc);
  ASSERT_TRUE(v.signing_time.has_value());
  EXPECT_LE(std::abs(*v.signing_time - std::time(nullptr)), 120);
  EXPECT_EQ(v.from_address, "alice@example.com");
}

TEST_F(EngineTest, EcdsaAndRsaPssSignaturesVerify) {
  const auto& pki = GetTestPki();
  auto ec = engine_->Sign(SampleMessage("bob@example.com"), pki.bob.Signer());
  ASSERT_TRUE(ec.ok()) << ec.error().ToString();
  EXPECT_EQ(VerifyNow(*ec).status, VerifyStatus::kGood);
  SignOptions pss;
  pss.rsa_pss = true;
  pss.digest = DigestAlg::kSha384;
  auto p = engine_->Sign(SampleMessage(), pki.alice.Signer(), pss);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_NE(p->find("micalg=sha-384"), std::string::npos);
  EXPECT_EQ(VerifyNow(*p).status, VerifyStatus::kGood);
}

TEST_F(EngineTest, AlteredContentIsBadSignature) {
  auto s = engine_->Sign(SampleMessage(), GetTestPki().alice.Signer()).value();
  size_t at = s.find("this is a test");
  ASSERT_NE(at, std::string::npos);
  s[at] = 'T';
  EXPECT_EQ(VerifyNow(s).status, VerifyStatus::kBadSignature);
}

TEST_F(EngineTest, CertificateProblemsGetPreciseStatus) {
  const auto& pki = GetTestPki();
  auto expired = engine_->Sign(SampleMessage("old@example.com"), pki.expired.Signer()).value();
  EXPECT_EQ(VerifyNow(expired).status, VerifyStatus::kExpired);
  auto server = engine_->Sign(SampleMessage("server@example.com"), pki.server.Signer()).value();
  EXPECT_EQ(VerifyNow(server).status, VerifyStatus::kWrongPurpose);
  auto rogue = engine_->Sign(SampleMessage(), pki.mallory.Signer()).value();
  EXPECT_EQ(VerifyNow(rogue).status, VerifyStatus::kUntrusted);
  auto wrong_from = engine_->Sign(SampleMessage("carol@example.org"), pki.alice.Signer()).value();
  VerifyResult w = VerifyNow(wrong_from);
  EXPECT_EQ(w.status, VerifyStatus::kWrongAddress);
  EXPECT_EQ(w.from_address, "carol@example.org");
}

TEST_F(EngineTest, ValidityIsJudgedAtArrivalAndTheSigningTimeOnlyNarrowsIt) {
  const auto& pki = GetTestPki();
  const std::time_t now = std::time(nullptr);
  auto s = engine_->Sign(SampleMessage(), pki.alice.Signer()).value();
  // Arrival two years later: alice's certificate has expired by then, even
  // though it was valid when she signed (Thunderbird checks "now" too).
  VerifyResult late = engine_->Verify(s, pki.Trust(), now + 2 * 365 * 86400).value();
  EXPECT_EQ(late.status, VerifyStatus::kExpired) << late.detail;
  // A signingTime before the certificate existed: valid at arrival, not then.
  SignOptions before;
  before.signing_time = now - 30 * 86400;
  VerifyOptions no_date;
  no_date.check_date = false;
  auto early = engine_->Sign(SampleMessage(), pki.alice.Signer(), before).value();
  VerifyResult e = engine_->Verify(early, pki.Trust(), now, no_date).value();
  EXPECT_EQ(e.status, VerifyStatus::kExpired) << e.detail;
  EXPECT_NE(e.detail.find("signing time"), std::string::npos) << e.detail;
  // The expired signer: invalid at arrival, whatever it claims.
  auto old = engine_->Sign(SampleMessage("old@example.com"), pki.expired.Signer(), before).value();
  EXPECT_EQ(engine_->Verify(old, pki.Trust(), now, no_date)->status, VerifyStatus::kExpired);
}

TEST_F(EngineTest, DateHeaderMustMatchTheSigningTime) {
  const auto& pki = GetTestPki();
  auto with_date = [&](const std::string& date) {
    std::string m = SampleMessage();
    size_t at = m.find("Date: ");
    size_t end = m.find("\r\n", at);
    if (date.empty()) {
      m.erase(at, end + 2 - at);
    } else {
      m.replace(at, end - at, "Date: " + date);
    }
    return engine_->Sign(m, pki.alice.Signer()).value();
  };
  EXPECT_EQ(VerifyNow(with_date(testing::DateNow())).status, VerifyStatus::kGood);
  // The same instant written other ways: another zone, no day name, a comment.
  const std::time_t now = std::time(nullptr);
  char buf[64];
  struct tm local {};
  const std::time_t shifted = now - 8 * 3600;
  gmtime_r(&shifted, &local);
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S -0800", &local);
  EXPECT_EQ(VerifyNow(with_date(buf)).status, VerifyStatus::kGood) << buf;
  gmtime_r(&now, &local);
  std::strftime(buf, sizeof(buf), "%d %b %Y %H:%M:%S +0000", &local);
  EXPECT_EQ(VerifyNow(with_date(buf)).status, VerifyStatus::kGood) << buf;
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT (Coordinated Universal Time)", &local);
  EXPECT_EQ(VerifyNow(with_date(buf)).status, VerifyStatus::kGood) << buf;
  // A Date in the future (Thunderbird: "signature time mismatch").
  VerifyResult future = VerifyNow(with_date("Tue, 01 Jan 2036 10:00:00 +0000"));
  EXPECT_EQ(future.status, VerifyStatus::kDateMismatch) << future.detail;
  EXPECT_EQ(VerifyNow(with_date("")).status, VerifyStatus::kDateMismatch);
  EXPECT_EQ(VerifyNow(with_date("not a date")).status, VerifyStatus::kDateMismatch);
  VerifyOptions off;
  off.check_date = false;
  EXPECT_EQ(engine_->Verify(with_date(""), pki.Trust(), std::time(nullptr), off)->status,
            VerifyStatus::kGood);
}

TEST_F(EngineTest, PlainMessageIsNotSigned) {
  EXPECT_EQ(VerifyNow(SampleMessage()).status, VerifyStatus::kNotSigned);
  EXPECT_EQ(DetectSmime(SampleMessage()), SmimeKind::kNone);
}

TEST_F(EngineTest, SubjectTagKeepsSignatureGood) {
  auto s = engine_->Sign(SampleMessage(), GetTestPki().alice.Signer()).value();
  auto tagged = ReplaceHeader(s, "Subject", "[signed] test message");
  ASSERT_TRUE(tagged.ok());
  EXPECT_NE(tagged->find("Subject: [signed] test message\r\n"), std::string::npos);
  EXPECT_EQ(tagged->size(), s.size() + 9);
  EXPECT_EQ(VerifyNow(*tagged).status, VerifyStatus::kGood);
  auto tag2 = TagSubject(s, "[s\xc3\xadgned]");
  ASSERT_TRUE(tag2.ok());
  EXPECT_EQ(VerifyNow(*tag2).status, VerifyStatus::kGood);
  // Outside the Subject, one changed byte is detected.
  std::string altered = *tagged;
  altered[altered.find("this is a test")] = 'T';
  EXPECT_EQ(VerifyNow(altered).status, VerifyStatus::kBadSignature);
}

TEST_F(EngineTest, EncryptDecryptRsaRestoresMessageAndHeaders) {
  const auto& pki = GetTestPki();
  Recipient r{pki.alice.cert};
  std::string msg = SampleMessage("carol@example.org", "Secret \xc3\xa4 text\r\n");
  auto enc = engine_->Encrypt(msg, std::span(&r, 1));
  ASSERT_TRUE(enc.ok()) << enc.error().ToString();
  EXPECT_FALSE(enc->auth_enveloped);
  EXPECT_EQ(enc->cipher_name, "AES-256-CBC");
  EXPECT_EQ(DetectSmime(enc->message), SmimeKind::kEnveloped);
  EXPECT_EQ(enc->message.find("Secret"), std::string::npos);
  KeyPair kp = pki.alice.Pair();
  auto dec = engine_->Decrypt(enc->message, std::span(&kp, 1));
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_NE(dec->message.find("Subject: test message\r\n"), std::string::npos);
  EXPECT_NE(dec->message.find("From: Alice Example <carol@example.org>\r\n"), std::string::npos);
  EXPECT_NE(dec->message.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  // The 8bit body was made transport-safe: quoted-printable of the same text.
  EXPECT_NE(dec->message.find("Secret =C3=A4 text"), std::string::npos) << dec->message;
}

TEST_F(EngineTest, SeveralRecipientsAndOldKeys) {
  const auto& pki = GetTestPki();
  std::vector<Recipient> rs{{pki.alice.cert}, {pki.bob.cert}, {pki.carol.cert}};
  auto enc = engine_->Encrypt(SampleMessage(), rs).value();
  for (const auto* id : {&pki.alice, &pki.bob, &pki.carol}) {
    // The user's older key first, then the current one: the engine picks by certificate.
    std::vector<KeyPair> candidates{pki.expired.Pair(), id->Pair()};
    auto dec = engine_->Decrypt(enc.message, candidates);
    ASSERT_TRUE(dec.ok()) << id->name << ": " << dec.error().ToString();
    EXPECT_EQ(dec->key_index, 1u);
    EXPECT_NE(dec->message.find("this is a test"), std::string::npos);
  }
  std::vector<KeyPair> none{pki.expired.Pair(), pki.server.Pair()};
  auto miss = engine_->Decrypt(enc.message, none);
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.error().code, ErrorCode::kNotFound);
}

TEST_F(EngineTest, AesGcmOnlyWhenEveryRecipientAnnouncesIt) {
  const auto& pki = GetTestPki();
  std::vector<Recipient> all{{pki.alice.cert, true}, {pki.bob.cert, true}};
  auto gcm = engine_->Encrypt(SampleMessage(), all).value();
  EXPECT_TRUE(gcm.auth_enveloped);
  EXPECT_EQ(DetectSmime(gcm.message), SmimeKind::kAuthEnveloped);
  EXPECT_NE(gcm.message.find("smime-type=authEnveloped-data"), std::string::npos);
  KeyPair bob = pki.bob.Pair();
  auto dec = engine_->Decrypt(gcm.message, std::span(&bob, 1));
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_TRUE(dec->auth_enveloped);
  std::vector<Recipient> mixed{{pki.alice.cert, true}, {pki.carol.cert, false}};
  auto cbc = engine_->Encrypt(SampleMessage(), mixed).value();
  EXPECT_FALSE(cbc.auth_enveloped);
  EXPECT_EQ(cbc.cipher_name, "AES-256-CBC");
}

TEST_F(EngineTest, RsaOaepRoundTrip) {
  const auto& pki = GetTestPki();
  Recipient r{pki.carol.cert, false, true};
  auto enc = engine_->Encrypt(SampleMessage(), std::span(&r, 1));
  ASSERT_TRUE(enc.ok()) << enc.error().ToString();
  KeyPair kp = pki.carol.Pair();
  auto dec = engine_->Decrypt(enc->message, std::span(&kp, 1));
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_NE(dec->message.find("this is a test"), std::string::npos);
}

TEST_F(EngineTest, SignAndEncryptThenDecryptAndVerify) {
  const auto& pki = GetTestPki();
  Recipient r{pki.bob.cert};
  auto enc = engine_->SignAndEncrypt(SampleMessage(), pki.alice.Signer(), std::span(&r, 1));
  ASSERT_TRUE(enc.ok()) << enc.error().ToString();
  KeyPair kp = pki.bob.Pair();
  auto dec = engine_->Decrypt(enc->message, std::span(&kp, 1));
  ASSERT_TRUE(dec.ok()) << dec.error().ToString();
  EXPECT_EQ(DetectSmime(dec->message), SmimeKind::kSignedDetached);
  VerifyResult v = VerifyNow(dec->message);
  EXPECT_EQ(v.status, VerifyStatus::kGood) << v.detail;
}

TEST_F(EngineTest, HarvestReturnsSignerChainAndCapabilities) {
  const auto& pki = GetTestPki();
  auto s = engine_->Sign(SampleMessage(), pki.alice.Signer()).value();
  auto h = engine_->Harvest(s, pki.Trust(), std::time(nullptr));
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  EXPECT_EQ(X509_cmp(h->cert.get(), pki.alice.cert.get()), 0);
  ASSERT_EQ(h->chain.size(), 1u);
  EXPECT_EQ(X509_cmp(h->chain[0].get(), pki.intermediate.cert.get()), 0);
  EXPECT_TRUE(h->capabilities.aes_gcm);
  EXPECT_TRUE(h->trusted);
  EXPECT_EQ(h->addresses, std::vector<std::string>{"alice@example.com"});
  size_t at = s.find("this is a test");
  s[at] = 'X';
  EXPECT_FALSE(engine_->Harvest(s, pki.Trust(), std::time(nullptr)).ok());
}

TEST_F(EngineTest, PreparedSignerIsReusedAndHonoursSigningTime) {
  const auto& pki = GetTestPki();
  auto prepared = PreparedSigner::Create(pki.bob.Signer());
  ASSERT_TRUE(prepared.ok()) << prepared.error().ToString();
  SignOptions opt;
  // Half an hour back: inside the Date rule (one hour) however many seconds
  // pass before SampleMessage writes its Date.
  opt.signing_time = std::time(nullptr) - 1800;
  for (int i = 0; i < 3; ++i) {
    auto s = engine_->Sign(
        SampleMessage("bob@example.com", "message " + std::to_string(i) + "\r\n"), *prepared, opt);
    ASSERT_TRUE(s.ok());
    VerifyResult v = VerifyNow(*s);
    EXPECT_EQ(v.status, VerifyStatus::kGood) << v.detail;
    EXPECT_EQ(v.signing_time, opt.signing_time);
  }
  // A key that does not belong to the certificate is refused up front.
  SignerIdentity mismatched{pki.carol.key, pki.alice.cert, {}};
  auto bad = PreparedSigner::Create(mismatched);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(EngineTest, ConcurrentUseOfOneEngineAndSigner) {
  const auto& pki = GetTestPki();
  PreparedSigner alice = PreparedSigner::Create(pki.alice.Signer()).value();
  TrustStore trust = pki.Trust();
  KeyPair bob = pki.bob.Pair();
  Recipient to_bob{pki.bob.cert};
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string msg =
            SampleMessage("alice@example.com", "thread " + std::to_string(t) + "\r\n");
        auto enc = engine_->SignAndEncrypt(msg, alice, std::span(&to_bob, 1));
        if (!enc.ok()) continue;
        auto dec = engine_->Decrypt(enc->message, std::span(&bob, 1));
        if (!dec.ok()) continue;
        auto v = engine_->Verify(dec->message, trust, std::time(nullptr));
        if (v.ok() && v->status == VerifyStatus::kGood) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 40);
}

TEST_F(EngineTest, MetricsCountOperationsAndStatuses) {
  const auto& pki = GetTestPki();
  metrics::Registry registry;
  SmimeMetrics m(registry);
  auto engine = SmimeEngine::Create(MimeLimits{}, &m).value();
  auto s = engine->Sign(SampleMessage(), pki.alice.Signer()).value();
  ASSERT_TRUE(engine->Verify(s, pki.Trust(), std::time(nullptr)).ok());
  s[s.find("this is a test")] = 'X';
  engine->Verify(s, pki.Trust(), std::time(nullptr)).PermitUncheckedError();  // counted either way
  KeyPair carol = pki.carol.Pair();
  Recipient to_alice{pki.alice.cert};
  auto enc = engine->Encrypt(SampleMessage(), std::span(&to_alice, 1)).value();
  EXPECT_FALSE(engine->Decrypt(enc.message, std::span(&carol, 1)).ok());
  std::string text = registry.Serialize();
  for (const char* want :
       {"op=\"sign\",result=\"ok\"} 1", "op=\"verify\",result=\"ok\"} 2",
        "op=\"encrypt\",result=\"ok\"} 1", "op=\"decrypt\",result=\"not_found\"} 1",
        "status=\"good\"} 1", "status=\"bad_signature\"} 1"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

}  // namespace
}  // namespace sg::smime
