// Inbound S/MIME as clients send it (issue 15) and the decryption oracle
// (issue 13 point 1), through the PolicyProcessor: every layer in any
// order, every signer, Thunderbird's time and algorithm verdicts, the
// detail header, and failures that look the same from outside.
#include <gtest/gtest.h>

#include <set>

#include "tests/workers/policy/policy_test_util.h"
#include "workers/policy/policy_verification.h"
#include "workers/smime/smime_detect.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;
using smime::testing::RunTool;
using smime::testing::TestIdentity;

const std::string kAlice = "alice@example.com";
const std::string kCarol = "carol@example.org";

std::string Header(const std::string& message, const std::string& name) {
  auto e = smime::ParseEntity(message, smime::MimeLimits{});
  std::string out;
  for (const auto& f : e->fields) {
    if (smime::NameIs(f.name, name)) out += smime::FieldValue(f) + "\n";
  }
  return out;
}

class Layers : public ::testing::Test {
 protected:
  void SetUp() override {
    h.AddCast();
    dir_ = smime::testing::MakeTempDir("sglayers");
  }
  void TearDown() override { smime::testing::RemoveTree(dir_); }

  std::string Signed(const std::string& message, const TestIdentity& id) {
    return h.engine->Sign(message, id.Signer()).value();
  }
  std::string Encrypted(const std::string& message, const TestIdentity& to) {
    smime::Recipient r{to.cert};
    return h.engine->Encrypt(message, std::span<const smime::Recipient>(&r, 1)).value().message;
  }
  // openssl cms -sign -nodetach (opaque signed-data), outer headers of |message| on top.
  std::string OpaqueSigned(const std::string& message, const TestIdentity& id,
                           const std::string& extra = "") {
    auto top = smime::ParseEntity(message, smime::MimeLimits{}).value();
    std::string outer, entity;
    for (const auto& f : top.fields) {
      (smime::IsContentField(f.name) || smime::NameIs(f.name, "MIME-Version") ? entity : outer) +=
          std::string(f.raw);
    }
    entity += "\r\n" + std::string(top.body);
    smime::testing::WriteFile(dir_ + "/in.eml", entity);
    std::string log;
    EXPECT_EQ(RunTool("openssl cms -sign -binary -nodetach -in " + dir_ + "/in.eml -signer " +
                          id.cert_path + " -inkey " + id.key_path + " -certfile " +
                          GetTestPki().chain_path + " " + extra + " -out " + dir_ + "/out.eml",
                      &log),
              0)
        << log;
    std::string out = smime::testing::ReadFile(dir_ + "/out.eml");
    return outer + smime::ToCrlf(out);
  }
  Result<std::vector<v1::MessageRecord>> Inbound(const std::string& message,
                                                 const std::string& from = kCarol,
                                                 const std::string& id = "msg-1") {
    v1::MessageRecord r = Record(v1::DIRECTION_INBOUND, from, {kAlice}, message);
    r.mutable_envelope()->set_message_id(id);
    return h.Run(r);
  }

  Harness h;
  std::string dir_;
};

TEST_F(Layers, EncryptThenSignDetachedIsDecryptedAndTheSignatureCounts) {
  const std::string m =
      Signed(Encrypted(TextMessage(kCarol, "Quote"), GetTestPki().alice), GetTestPki().carol);
  ASSERT_EQ(smime::DetectSmime(m), smime::SmimeKind::kSignedDetached);
  auto out = Inbound(m);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 1u);
  const std::string& got = (*out)[0].message();
  EXPECT_EQ(smime::DetectSmime(got), smime::SmimeKind::kNone) << "delivered decrypted";
  EXPECT_NE(got.find("SECRET-BODY"), std::string::npos);
  EXPECT_EQ(GetSubject(got).value(), "[secure] [signed OK] Quote");
  const std::string detail = Header(got, "X-Smimegate-Verification");
  EXPECT_NE(detail.find("1 signed-detached; verdict=good; from-bound; over-decrypted"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("2 enveloped-data; aes-256-cbc; decrypted"), std::string::npos) << detail;
}

TEST_F(Layers, EncryptThenSignOpaqueIsDecrypted) {
  const std::string m = OpaqueSigned(Encrypted(TextMessage(kCarol, "Opaque"), GetTestPki().alice),
                                     GetTestPki().carol);
  ASSERT_EQ(smime::DetectSmime(m), smime::SmimeKind::kSignedOpaque);
  auto out = Inbound(m);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  const std::string& got = (*out)[0].message();
  EXPECT_NE(got.find("SECRET-BODY"), std::string::npos);
  EXPECT_EQ(GetSubject(got).value(), "[secure] [signed OK] Opaque");
}

TEST_F(Layers, TripleWrapKeepsTheInnerSignatureForTheReader) {
  const auto& pki = GetTestPki();
  const std::string inner = Signed(TextMessage(kCarol, "Triple"), pki.carol);
  const std::string m = Signed(Encrypted(inner, pki.alice), pki.carol);
  auto out = Inbound(m);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  const std::string& got = (*out)[0].message();
  EXPECT_EQ(GetSubject(got).value(), "[secure] [signed OK] Triple");
  // What is delivered is the inner signed message, still verifiable by the reader.
  EXPECT_EQ(smime::DetectSmime(got), smime::SmimeKind::kSignedDetached);
  EXPECT_EQ(Open(*h.engine, got, nullptr).verify, smime::VerifyStatus::kGood);
  const std::string detail = Header(got, "X-Smimegate-Verification");
  EXPECT_NE(detail.find("3 signed-detached; verdict=good; signer="), std::string::npos) << detail;
}

TEST_F(Layers, SignThenEncryptStaysAsBefore) {
  const std::string m =
      Encrypted(Signed(TextMessage(kCarol, "Common"), GetTestPki().carol), GetTestPki().alice);
  auto out = Inbound(m);
  ASSERT_TRUE(out.ok());
  const std::string& got = (*out)[0].message();
  EXPECT_EQ(GetSubject(got).value(), "[secure] [signed OK] Common");
  EXPECT_EQ(Open(*h.engine, got, nullptr).verify, smime::VerifyStatus::kGood);
  EXPECT_EQ(h.keys.harvested().size(), 1u);
}

TEST_F(Layers, ForwardingSignerNotBoundToFromMakesItInvalid) {
  // carol signs, a forwarding gateway (alice's certificate stands in for it)
  // signs again; From is carol: the outermost signer does not match From.
  const std::string m =
      Signed(Signed(TextMessage(kCarol, "Fwd"), GetTestPki().carol), GetTestPki().alice);
  auto out = Inbound(m);
  ASSERT_TRUE(out.ok());
  const std::string& got = (*out)[0].message();
  EXPECT_EQ(GetSubject(got).value(), "[signed INVALID] Fwd");
  const std::string detail = Header(got, "X-Smimegate-Verification");
  EXPECT_NE(detail.find("1 signed-detached; verdict=wrong_address; from-bound"), std::string::npos)
      << detail;
  EXPECT_NE(detail.find("2 signed-detached; verdict=good"), std::string::npos) << detail;
  // Nothing was decrypted: the message is delivered as received (both signatures intact).
  EXPECT_EQ(smime::DetectSmime(got), smime::SmimeKind::kSignedDetached);
}

TEST_F(Layers, Sha1InvalidByDefaultValidWithTheSwitch) {
  const std::string m =
      OpaqueSigned(TextMessage(kCarol, "Old client"), GetTestPki().carol, "-md sha1");
  auto out = Inbound(m);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Old client");
  EXPECT_NE(Header((*out)[0].message(), "X-Smimegate-Verification").find("weak_digest"),
            std::string::npos);
  smime::SmimeConfig allow;
  allow.allow_sha1 = true;
  Harness h2({}, allow);
  h2.AddCast();
  auto out2 = h2.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out2.ok());
  EXPECT_EQ(GetSubject((*out2)[0].message()).value(), "[signed OK] Old client");
  EXPECT_NE(Header((*out2)[0].message(), "X-Smimegate-Verification").find(" weak"),
            std::string::npos);
}

TEST_F(Layers, FutureDateAndExpiredSignerAreInvalid) {
  std::string future = TextMessage(kCarol, "Future");
  const std::string now_date = "Date: " + smime::testing::DateNow();
  future.replace(future.find(now_date), now_date.size(), "Date: Tue, 01 Jan 2036 10:00:00 +0000");
  auto out = Inbound(Signed(future, GetTestPki().carol));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Future");
  EXPECT_NE(Header((*out)[0].message(), "X-Smimegate-Verification").find("date_mismatch"),
            std::string::npos);

  const auto& old = GetTestPki().expired;
  auto expired = Inbound(Signed(TextMessage(old.email, "Expired"), old), old.email);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(GetSubject((*expired)[0].message()).value(), "[signed INVALID] Expired");
}

TEST_F(Layers, ValidityIsJudgedAtArrivalNotAtProcessing) {
  // Received a year ago (a record processed late): the signature was made then.
  const std::string m = Signed(TextMessage(kCarol, "Late"), GetTestPki().carol);
  v1::MessageRecord r = Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m);
  r.mutable_envelope()->set_received_at_ms(NowMs() - 400LL * 86400 * 1000);
  auto out = h.Run(r);
  ASSERT_TRUE(out.ok());
  // Carol's certificate did not exist a year ago: invalid at the arrival time.
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Late");
}

TEST_F(Layers, SignerNotMatchingFromIsInvalid) {
  auto out = Inbound(Signed(TextMessage("dave@example.org", "Spoof"), GetTestPki().carol),
                     "dave@example.org");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Spoof");
}

TEST_F(Layers, SmuggledDetailHeadersAndTagsAreRemoved) {
  const std::string fake = "X-Smimegate-Verification: 1 signed-detached; verdict=good\r\n";
  // Plain mail claiming a verification, with a steering tag.
  auto plain = Inbound(TextMessage(kCarol, "[noenc] Reply to this", "body\r\n", fake));
  ASSERT_TRUE(plain.ok());
  const std::string& p = (*plain)[0].message();
  EXPECT_EQ(GetSubject(p).value(), "Reply to this");
  EXPECT_EQ(Header(p, "X-Smimegate-Verification"), "");
  // Every steering tag (issue 13 point 5), in any letter case.
  for (const std::string tag : {"[plain]", "[noenc]", "[nosign]", "[confidential]", "[NoSign]"}) {
    auto t = Inbound(TextMessage(kCarol, tag + " Steered"));
    ASSERT_TRUE(t.ok()) << tag;
    EXPECT_EQ(GetSubject((*t)[0].message()).value(), "Steered") << tag;
  }
  // Inside the encrypted content (where only the decryption reveals it).
  auto enc = Inbound(
      Encrypted(TextMessage(kCarol, "[plain][secure] Hi", "body\r\n", fake), GetTestPki().alice));
  ASSERT_TRUE(enc.ok());
  const std::string& e = (*enc)[0].message();
  EXPECT_EQ(GetSubject(e).value(), "[secure] Hi");
  EXPECT_EQ(Header(e, "X-Smimegate-Verification"), "1 enveloped-data; aes-256-cbc; decrypted\n");
  // A second Subject field cannot carry a forged mark either.
  auto dup = Inbound("Subject: [signed OK] Pay\r\n" + TextMessage(kCarol, "Invoice"));
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(Header((*dup)[0].message(), "Subject"), "Pay\n");
  // ... also when the forged one is the second (clients differ in which they show).
  std::string second = TextMessage(kCarol, "Invoice");
  second.insert(second.find("\r\n\r\n") + 2, "Subject: [signed OK] Pay now\r\n");
  auto dup2 = Inbound(second);
  ASSERT_TRUE(dup2.ok());
  EXPECT_EQ(Header((*dup2)[0].message(), "Subject"), "Invoice\n");
}

TEST_F(Layers, AmbiguousSignedMailIsInvalid) {
  const std::string m = Signed(TextMessage(kCarol, "Twice"), GetTestPki().carol);
  auto out = Inbound("From: ceo@example.com\r\n" + m);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(DecodeSubject(Header((*out)[0].message(), "Subject")), "[signed INVALID] Twice\n");
  EXPECT_NE(Header((*out)[0].message(), "X-Smimegate-Verification").find("malformed"),
            std::string::npos);
}

TEST_F(Layers, TooManyLayersAreNotOpened) {
  PolicyConfig config;
  config.max_layers = 2;
  Harness h2(config);
  h2.AddCast();
  const auto& pki = GetTestPki();
  const std::string m =
      Signed(Signed(Signed(TextMessage(kCarol, "Deep"), pki.carol), pki.carol), pki.carol);
  auto out = h2.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Deep");
  EXPECT_NE(Header((*out)[0].message(), "X-Smimegate-Verification").find("3 too-deep"),
            std::string::npos);
}

// ------------------------------------------------------- the decryption oracle

// An AES-256-CBC message to alice as `openssl cms` makes it, and variants
// with one byte of the next-to-last cipher block changed: the last block
// then decrypts to other bytes, and for some variants the padding is valid.
struct CbcMessage {
  std::string head;  // header block + blank line
  std::string der;
  std::string With(size_t back, unsigned char x) const {
    std::string d = der;
    d[d.size() - back] = static_cast<char>(d[d.size() - back] ^ x);
    return head + smime::Base64Encode(d);
  }
};

CbcMessage MakeCbcMessage(const std::string& dir, const std::string& cipher = "-aes256") {
  smime::testing::WriteFile(dir + "/entity.txt",
                            smime::testing::SampleEntity("SECRET-BODY of the original message"));
  std::string log;
  EXPECT_EQ(RunTool("openssl cms -encrypt -binary " + cipher +
                        " -provider legacy -provider default -outform DER -in " + dir +
                        "/entity.txt -out " + dir + "/enc.der " + GetTestPki().alice.cert_path,
                    &log),
            0)
      << log;
  CbcMessage m;
  m.der = smime::testing::ReadFile(dir + "/enc.der");
  m.head = "From: eve@evil.example\r\nTo: alice@example.com\r\nSubject: tampered\r\nDate: " +
           smime::testing::DateNow() +
           "\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
           "smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  return m;
}

// What the sender can observe of one record's processing.
std::string Outcome(const Result<std::vector<v1::MessageRecord>>& out) {
  if (!out.ok()) return "error:" + std::string(ErrorCodeName(out.error().code));
  std::string s;
  for (const auto& r : *out) {
    if (r.form_id() == "dsn") {
      const std::string& m = r.message();
      auto d = m.find("Diagnostic-Code:");
      s += "dsn[" + m.substr(d, m.find("\r\n", d) - d) + "]";
    } else {
      s += "DELIVERY";
    }
  }
  return s.empty() ? "nothing" : s;
}

TEST_F(Layers, EveryTamperedCbcVariantLooksTheSameFromOutside) {
  const CbcMessage m = MakeCbcMessage(dir_);
  std::set<std::string> outcomes;
  int padding_valid = 0;
  for (int x = 1; x < 256; ++x) {
    Harness fresh;  // each variant as if it were the first the gateway sees
    fresh.AddCast();
    const std::string variant = m.With(17, static_cast<unsigned char>(x));
    // Would the naive decryption have succeeded (valid padding)?
    smime::KeyPair kp = GetTestPki().alice.Pair();
    smime::DecryptOptions raw;
    raw.check_cbc_content = false;
    if (fresh.engine->Decrypt(variant, std::span(&kp, 1), raw).ok()) ++padding_valid;
    auto out = fresh.Run(Record(v1::DIRECTION_INBOUND, "eve@evil.example", {kAlice}, variant));
    outcomes.insert(Outcome(out));
  }
  EXPECT_GE(padding_valid, 1)
      << "some variants have valid padding: the case that used to be delivered";
  ASSERT_EQ(outcomes.size(), 1u) << *outcomes.begin() << " / " << *outcomes.rbegin();
  const std::string only = *outcomes.begin();
  EXPECT_NE(only.find("dsn[Diagnostic-Code: smtp; 550 5.7.5 The encrypted message could not be "
                      "decrypted for this recipient. It was not delivered.]"),
            std::string::npos)
      << only;
  EXPECT_EQ(only.find("DELIVERY"), std::string::npos);
  EXPECT_EQ(only.find("bad decrypt"), std::string::npos);
}

TEST_F(Layers, TwoHundredFiftySixTamperedVariantsGiveAtMostOneDsn) {
  const CbcMessage m = MakeCbcMessage(dir_);
  int dsns = 0, delivered = 0, quarantined = 0;
  for (int i = 0; i < 256; ++i) {
    // 255 values of the last byte of the next-to-last block, then one more byte.
    const std::string variant =
        i < 255 ? m.With(17, static_cast<unsigned char>(i + 1)) : m.With(18, 0x01);
    auto out = Inbound(variant, "eve@evil.example", "tamper-" + std::to_string(i));
    if (!out.ok()) {
      EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied) << out.error().ToString();
      EXPECT_NE(out.error().message.find("quarantined"), std::string::npos);
      ++quarantined;
      continue;
    }
    for (const auto& r : *out) {
      if (!r.hold_reason().empty()) continue;  // kept as a dead letter
      (r.form_id() == "dsn" ? dsns : delivered)++;
    }
  }
  EXPECT_LE(dsns, 1);
  EXPECT_EQ(delivered, 0);
  EXPECT_EQ(quarantined, 255);
  EXPECT_NE(h.registry.Serialize().find(
                "smimegate_policy_quarantined_total{reason=\"content_key_replayed\"} 255"),
            std::string::npos);
}

TEST_F(Layers, ATamperedCopyOfADeliveredMessageIsQuarantined) {
  const CbcMessage m = MakeCbcMessage(dir_);
  auto original = Inbound(m.head + smime::Base64Encode(m.der), "eve@evil.example", "orig");
  ASSERT_TRUE(original.ok());
  ASSERT_EQ(original->size(), 1u);
  EXPECT_NE((*original)[0].message().find("SECRET-BODY of the original"), std::string::npos);
  // The same message again (a redelivery) is fine.
  EXPECT_TRUE(Inbound(m.head + smime::Base64Encode(m.der), "eve@evil.example", "again").ok());
  auto tampered = Inbound(m.With(17, 0x01), "eve@evil.example", "t1");
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(Layers, UndecryptableDsnsAreRateLimitedPerSenderDomain) {
  int dsns = 0, held = 0;
  for (int i = 0; i < 25; ++i) {
    // Each a new message (new content key) nobody here can decrypt.
    const std::string m =
        Encrypted(TextMessage(kCarol, "Lost " + std::to_string(i)), GetTestPki().carol);
    auto out =
        Inbound(m, "sender" + std::to_string(i) + "@example.org", "lost-" + std::to_string(i));
    ASSERT_TRUE(out.ok());
    for (const auto& r : *out) dsns += r.form_id() == "dsn";
    EXPECT_TRUE(FormsFor(*out, kAlice).empty());
    // Whose sender is not told is kept (still encrypted), never dropped.
    for (const auto* r : Held(*out)) {
      ++held;
      EXPECT_EQ(r->message(), m);
      ASSERT_EQ(r->envelope().recipients_size(), 1);
      EXPECT_EQ(r->envelope().recipients(0).address(), kAlice);
      EXPECT_NE(r->hold_reason().find("no DSN"), std::string::npos) << r->hold_reason();
    }
  }
  EXPECT_EQ(dsns, 20) << "keyservice.decrypt_guard.dsn_per_domain defaults to 20 per hour";
  EXPECT_EQ(held, 5) << "each message whose DSN was suppressed is kept";
  EXPECT_NE(h.registry.Serialize().find(
                "smimegate_policy_dsn_suppressed_total{reason=\"rate-limited\"} 5"),
            std::string::npos);
}

TEST_F(Layers, DesAndRc2AreNotDecrypted) {
  for (const std::string cipher : {"-des", "-rc2-40-cbc"}) {
    const CbcMessage m = MakeCbcMessage(dir_, cipher);
    auto out = Inbound(m.head + smime::Base64Encode(m.der), "eve@evil.example", "c" + cipher);
    ASSERT_TRUE(out.ok()) << cipher;
    EXPECT_TRUE(FormsFor(*out, kAlice).empty()) << cipher << " was decrypted";
    ASSERT_NE(Dsn(*out), nullptr) << cipher;
    EXPECT_NE(Dsn(*out)->message().find("could not be decrypted for this recipient. It was not"),
              std::string::npos);
  }
  // 3DES with the switch off (allow_3des_decrypt: false).
  smime::SmimeConfig refuse;
  refuse.allow_3des = false;
  Harness h3({}, refuse);
  h3.AddCast();
  const CbcMessage refused = MakeCbcMessage(dir_, "-des3");
  auto dsn = h3.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice},
                           refused.head + smime::Base64Encode(refused.der)));
  ASSERT_TRUE(dsn.ok());
  EXPECT_TRUE(FormsFor(*dsn, kAlice).empty()) << "3DES decrypted with the switch off";
  ASSERT_NE(Dsn(*dsn), nullptr);
  // 3DES by default (smime::SmimeConfig{}), as the reference clients read it.
  Harness h2;
  h2.AddCast();
  const CbcMessage des3 = MakeCbcMessage(dir_, "-des3");
  auto out = h2.Run(
      Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, des3.head + smime::Base64Encode(des3.der)));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(FormsFor(*out, kAlice).size(), 1u);
  EXPECT_NE(FormsFor(*out, kAlice)[0]->message().find("SECRET-BODY"), std::string::npos);
}

}  // namespace
}  // namespace sg::workers::testing
