// The inbound rules: decrypt with any key the user ever had, [secure];
// verify, [signed OK] / [signed INVALID], byte-identical apart from the
// Subject; harvest; undecryptable -> DSN 5.7.5 and nothing delivered.
#include <gtest/gtest.h>

#include "tests/workers/policy/policy_test_util.h"
#include "workers/smime/smime_detect.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;
using smime::testing::TestIdentity;

const std::string kAlice = "alice@example.com";
const std::string kCarol = "carol@example.org";

std::string SignedBy(const smime::SmimeEngine& engine, const TestIdentity& id,
                     const std::string& subject = "Report") {
  auto s = engine.Sign(TextMessage(id.email, subject, "SECRET-BODY signed\r\n"), id.Signer());
  EXPECT_TRUE(s.ok());
  return *s;
}

std::string EncryptedTo(const smime::SmimeEngine& engine, const std::string& message,
                        const TestIdentity& to) {
  smime::Recipient r{to.cert};
  auto e = engine.Encrypt(message, std::span<const smime::Recipient>(&r, 1));
  EXPECT_TRUE(e.ok());
  return e->message;
}

// The message without the fields the gateway writes, Subject and
// X-Smimegate-Verification (to compare everything else byte for byte).
std::string WithoutField(std::string m, const std::string& name) {
  for (;;) {
    auto pos = m.find("\r\n" + name + ": ");
    if (pos == std::string::npos) return m;
    auto end = m.find("\r\n", pos + 2);
    m.erase(pos, end - pos);
  }
}
std::string WithoutSubject(std::string m) {
  return WithoutField(WithoutField(std::move(m), "Subject"), "X-Smimegate-Verification");
}

class InboundPolicy : public ::testing::Test {
 protected:
  void SetUp() override { h.AddCast(); }
  Harness h;
};

TEST_F(InboundPolicy, PlainMailPassesByteIdentical) {
  const std::string m = TextMessage(kCarol, "Hello");
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].message(), m);
}

TEST_F(InboundPolicy, GoodSignatureMarkedOkHarvestedAndReplyEncrypted) {
  const std::string m = SignedBy(*h.engine, GetTestPki().carol);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice, "bob@example.com"}, m));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 1u);
  const std::string& got = (*out)[0].message();
  EXPECT_EQ(GetSubject(got).value(), "[signed OK] Report");
  EXPECT_EQ(WithoutSubject(got), WithoutSubject(m)) << "only the Subject may change";
  EXPECT_EQ((*out)[0].envelope().recipients_size(), 2);
  Opened o = Open(*h.engine, got, nullptr);
  EXPECT_EQ(o.verify, smime::VerifyStatus::kGood) << "the tagged message still verifies";

  auto harvested = h.keys.harvested();
  ASSERT_EQ(harvested.size(), 1u);
  EXPECT_EQ(harvested[0].address, kCarol);
  EXPECT_FALSE(harvested[0].capabilities.empty()) << "SMIMECapabilities go to the keyservice";

  // The reply to a new correspondent is now encrypted to the harvested certificate.
  Harness fresh;
  AddParticipant(fresh.keys, kAlice, GetTestPki().alice);
  auto in = fresh.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(in.ok());
  auto reply = fresh.Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol},
                                TextMessage(kAlice, "Re: Report")));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->size(), 1u);
  Opened r = Open(*fresh.engine, (*reply)[0].message(), &GetTestPki().carol);
  EXPECT_TRUE(r.encrypted && r.decrypt_ok);
  // Carol's signature announced AES-GCM: the reply uses AuthEnvelopedData.
  EXPECT_EQ(smime::DetectSmime((*reply)[0].message()), smime::SmimeKind::kAuthEnveloped);
  EXPECT_EQ(r.verify, smime::VerifyStatus::kGood);
}

TEST_F(InboundPolicy, UntrustedSignerMarkedInvalid) {
  const std::string m = SignedBy(*h.engine, GetTestPki().mallory);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, GetTestPki().mallory.email, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Report");
  EXPECT_EQ(WithoutSubject((*out)[0].message()), WithoutSubject(m));
}

TEST_F(InboundPolicy, AlteredSignedMessageMarkedInvalidNotHarvested) {
  std::string m = SignedBy(*h.engine, GetTestPki().carol);
  auto pos = m.find("SECRET-BODY signed");
  ASSERT_NE(pos, std::string::npos);
  m.replace(pos, 6, "ALTERD");
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[signed INVALID] Report");
  EXPECT_TRUE(h.keys.harvested().empty());
}

TEST_F(InboundPolicy, EncryptedDecryptedAndMarkedSecure) {
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Secret"), GetTestPki().alice);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 1u);
  const std::string& got = (*out)[0].message();
  EXPECT_EQ(smime::DetectSmime(got), smime::SmimeKind::kNone);
  EXPECT_EQ(GetSubject(got).value(), "[secure] Secret");
  EXPECT_NE(got.find("SECRET-BODY"), std::string::npos);
}

TEST_F(InboundPolicy, DecryptsWithAnOldKey) {
  // The user's previous key (expired certificate) is still a decryption candidate.
  h.keys.AddDecryptionKey(kAlice, GetTestPki().expired.key.get(), GetTestPki().expired.cert.get());
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Old"), GetTestPki().expired);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[secure] Old");
}

TEST_F(InboundPolicy, DecryptsWithHostedDomainKey) {
  h.keys.AddDecryptionKey("@example.com", GetTestPki().server.key.get(),
                          GetTestPki().server.cert.get());
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Domain"), GetTestPki().server);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {"nobody@example.com"}, m));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "[secure] Domain");
}

TEST_F(InboundPolicy, SignedAndEncryptedGetsBothMarks) {
  const std::string m =
      EncryptedTo(*h.engine, SignedBy(*h.engine, GetTestPki().carol, "Both"), GetTestPki().alice);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  const std::string& got = (*out)[0].message();
  EXPECT_EQ(GetSubject(got).value(), "[secure] [signed OK] Both");
  EXPECT_EQ(Open(*h.engine, got, nullptr).verify, smime::VerifyStatus::kGood);
  EXPECT_EQ(h.keys.harvested().size(), 1u);
}

TEST_F(InboundPolicy, UndecryptableBouncesWithDsnAndDeliversNothing) {
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Lost"), GetTestPki().carol);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  const auto& dsn = (*out)[0];
  EXPECT_EQ(dsn.form_id(), "dsn");
  EXPECT_EQ(dsn.envelope().direction(), v1::DIRECTION_OUTBOUND);
  EXPECT_EQ(dsn.envelope().mail_from(), "");
  EXPECT_EQ(dsn.envelope().recipients(0).address(), kCarol);
  EXPECT_NE(dsn.message().find("Status: 5.7.5"), std::string::npos);
  EXPECT_NE(dsn.message().find(kAlice), std::string::npos);
}

TEST_F(InboundPolicy, CorruptCmsBounces) {
  std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Bad"), GetTestPki().alice);
  // Cut the base64 body in half: a truncated transfer.
  auto body = m.find("\r\n\r\n");
  m.resize(body + (m.size() - body) / 2);
  m += "\r\n";
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].form_id(), "dsn");
}

TEST_F(InboundPolicy, PerRecipientDecryptionNoLeakToOthers) {
  // Encrypted to alice only, addressed to alice and bob: bob must not get alice's clear text.
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Split"), GetTestPki().alice);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice, "bob@example.com"}, m));
  ASSERT_TRUE(out.ok());
  auto alice = FormsFor(*out, kAlice);
  ASSERT_EQ(alice.size(), 1u);
  EXPECT_EQ(alice[0]->envelope().recipients_size(), 1);
  EXPECT_TRUE(FormsFor(*out, "bob@example.com").empty());
  ASSERT_NE(Dsn(*out), nullptr);
  EXPECT_NE(Dsn(*out)->message().find("bob@example.com"), std::string::npos);
}

TEST_F(InboundPolicy, EncryptedForNonParticipantWithoutKeysPassesUnchanged) {
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "E2E"), GetTestPki().carol);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {"own-client@example.com"}, m));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(WithoutSubject((*out)[0].message()), WithoutSubject(m));
  EXPECT_EQ(GetSubject((*out)[0].message()), GetSubject(m));
  EXPECT_EQ(smime::DetectSmime((*out)[0].message()), smime::SmimeKind::kEnveloped);
}

TEST_F(InboundPolicy, NullSenderUndecryptableNoDsn) {
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "x"), GetTestPki().carol);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, "", {kAlice}, m));
  ASSERT_TRUE(out.ok());
  // Nobody to tell, nothing delivered: kept for the administrator, still
  // encrypted (a dead letter, not silence).
  EXPECT_EQ(Dsn(*out), nullptr);
  EXPECT_TRUE(FormsFor(*out, kAlice).empty());
  auto held = Held(*out);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]->message(), m);
}

TEST_F(InboundPolicy, ForgedMarksAreRemoved) {
  // Unsigned mail claiming a verified signature.
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice},
                          TextMessage(kCarol, "[Signed OK] [secure] Pay invoice")));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(GetSubject((*out)[0].message()).value(), "Pay invoice");
  // A bad signature cannot keep a forged [signed OK] either.
  std::string m = SignedBy(*h.engine, GetTestPki().mallory, "=?utf-8?q?=5Bsigned_OK=5D_Pay?=");
  out = h.Run(Record(v1::DIRECTION_INBOUND, GetTestPki().mallory.email, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(DecodeSubject(GetSubject((*out)[0].message()).value()), "[signed INVALID] Pay");
}

TEST_F(InboundPolicy, EncodedSubjectMarkedOutsideEncodedWord) {
  const std::string subject = "=?utf-8?q?Gr=C3=BC=C3=9Fe?=";
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, subject), GetTestPki().alice);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice}, m));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(DecodeSubject(GetSubject((*out)[0].message()).value()), "[secure] Grüße");
}

// Issue 13 point 10, inbound: a recipient whose address the keyservice
// cannot process (kInvalidArgument) gets a 5.1.3 DSN, headers only (mail
// from the internet); the message's other recipients are delivered. Before,
// the keyservice's refusal failed the whole record and it was dead-lettered.
TEST_F(InboundPolicy, UnprocessableRecipientGetsDsnOthersDelivered) {
  const std::string bad = "bad..dots@example.com";
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Mixed"), GetTestPki().alice);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {bad, kAlice}, m));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  auto alice = FormsFor(*out, kAlice);
  ASSERT_EQ(alice.size(), 1u);
  EXPECT_EQ(GetSubject(alice[0]->message()).value(), "[secure] Mixed");
  EXPECT_TRUE(FormsFor(*out, bad).empty());
  EXPECT_TRUE(Held(*out).empty());
  const auto* dsn = Dsn(*out);
  ASSERT_NE(dsn, nullptr);
  ASSERT_EQ(dsn->envelope().recipients_size(), 1);
  EXPECT_EQ(dsn->envelope().recipients(0).address(), kCarol);
  EXPECT_NE(dsn->message().find("Status: 5.1.3"), std::string::npos) << dsn->message();
  EXPECT_NE(dsn->message().find(bad), std::string::npos);
  EXPECT_EQ(dsn->message().find(kAlice), std::string::npos) << "only the failed one is reported";
  // From the internet: the header section only, never the body.
  EXPECT_NE(dsn->message().find("text/rfc822-headers"), std::string::npos);
  EXPECT_EQ(dsn->message().find("SECRET-BODY"), std::string::npos);
  EXPECT_NE(h.registry.Serialize().find("smimegate_policy_bounces_total{reason=\"bad_address\"} 1"),
            std::string::npos);
}

// The same when the keyservice refuses an address the normaliser accepts
// (an older or stricter keyservice): only that recipient is returned.
TEST_F(InboundPolicy, KeyserviceRefusingOneRecipientBouncesOnlyIt) {
  const std::string odd = "odd@example.com";
  h.keys.fail_for[odd] = {ErrorCode::kInvalidArgument, -1};
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Two"), GetTestPki().alice);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice, odd}, m));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(FormsFor(*out, kAlice).size(), 1u);
  EXPECT_TRUE(FormsFor(*out, odd).empty());
  ASSERT_NE(Dsn(*out), nullptr);
  EXPECT_NE(Dsn(*out)->message().find("Status: 5.1.3"), std::string::npos);
  // Plain mail needs no per-recipient key lookup: delivered to both.
  out = h.Run(Record(v1::DIRECTION_INBOUND, kCarol, {kAlice, odd}, TextMessage(kCarol, "Plain")));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(FormsFor(*out, odd).size(), 1u);
  EXPECT_EQ(Dsn(*out), nullptr);
}

// Nobody to tell (null sender): the unprocessable recipient's copy is kept
// for the administrator with the reason, never dropped in silence.
TEST_F(InboundPolicy, UnprocessableRecipientWithoutDsnIsKept) {
  const std::string bad = "bad..dots@example.com";
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Null"), GetTestPki().alice);
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, "", {kAlice, bad}, m));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(FormsFor(*out, kAlice).size(), 1u);
  EXPECT_EQ(Dsn(*out), nullptr);
  auto held = Held(*out);
  ASSERT_EQ(held.size(), 1u);
  ASSERT_EQ(held[0]->envelope().recipients_size(), 1);
  EXPECT_EQ(held[0]->envelope().recipients(0).address(), bad);
  EXPECT_NE(held[0]->hold_reason().find("cannot process"), std::string::npos);
  EXPECT_EQ(held[0]->message(), m);
}

// A transient keyservice error for one recipient bounces nobody: the whole
// record fails transiently and the worker pool retries it (nothing was
// emitted), and the retry still tells the sender about an undecryptable
// recipient (the failure-DSN guard allows the same message again). This
// was already so before the per-recipient change; the test keeps it.
TEST_F(InboundPolicy, TransientErrorForOneRecipientRetriesAndBouncesNobody) {
  const std::string m = EncryptedTo(*h.engine, TextMessage(kCarol, "Retry"), GetTestPki().alice);
  h.keys.fail_for[kAlice] = {ErrorCode::kUnavailable, 1};
  const auto record = Record(v1::DIRECTION_INBOUND, kCarol, {"bob@example.com", kAlice}, m);
  auto out = h.Run(record);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(IsTransient(out.error().code)) << out.error().ToString();
  out = h.Run(record);  // the worker pool's retry
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(FormsFor(*out, kAlice).size(), 1u);
  EXPECT_TRUE(Held(*out).empty());
  ASSERT_NE(Dsn(*out), nullptr);
  EXPECT_NE(Dsn(*out)->message().find("Status: 5.7.5"), std::string::npos);
  EXPECT_NE(Dsn(*out)->message().find("bob@example.com"), std::string::npos);
}

}  // namespace
}  // namespace sg::workers::testing
