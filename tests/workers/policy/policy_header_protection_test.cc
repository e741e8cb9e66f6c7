// RFC 9788 header protection: the pure functions (ProtectHeaders,
// RestoreHeaders) table by table, and the policy outbound (the payload
// decrypted with `openssl cms`), inbound (a payload encrypted with
// `openssl cms`, shaped as RFC 9788 Appendix E's legacy display example;
// payloads under an opaque signature made by `openssl cms -sign -nodetach`,
// alone and then encrypted) and through both directions.
#include "workers/policy/policy_header_protection.h"

#include <gtest/gtest.h>

#include "tests/workers/policy/header_protection_test_util.h"
#include "tests/workers/policy/policy_test_util.h"
#include "workers/smime/smime_detect.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;
using smime::testing::MakeTempDir;
using smime::testing::ReadFile;
using smime::testing::RemoveTree;
using smime::testing::RunTool;
using smime::testing::WriteFile;

constexpr const char* kAlice = "alice@example.com";
constexpr const char* kCarol = "carol@example.org";

// The sample line of smimegate_policy_header_protection_total{direction,result}.
bool Counted(const metrics::Registry& registry, const std::string& direction,
             const std::string& result, int n) {
  return Has(registry.Serialize(), "smimegate_policy_header_protection_total{direction=\"" +
                                       direction + "\",result=\"" + result + "\"} " +
                                       std::to_string(n) + "\n");
}

// ---- ProtectHeaders ----------------------------------------------------------------------

TEST(ProtectHeaders, CipherCopiesTheFieldsAndRecordsTheOuterOnes) {
  const std::string m =
      TextMessage(kAlice, "Quarterly numbers", "Body\r\n", "Cc: c@example.org\r\n");
  auto p = ProtectHeaders(m, HpMode::kCipher, false, {});
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_TRUE(Has(p->inner_headers, "Subject: Quarterly numbers\r\n"));
  EXPECT_TRUE(Has(p->inner_headers, "From: Sender <alice@example.com>\r\n"));
  EXPECT_TRUE(Has(p->inner_headers, "Cc: c@example.org\r\n"));
  EXPECT_TRUE(Has(p->inner_headers, "Message-ID: <t1@example.com>\r\n"));
  EXPECT_TRUE(Has(p->inner_headers, "HP-Outer: Subject: Quarterly numbers\r\n"));
  EXPECT_TRUE(Has(p->inner_headers, "HP-Outer: To: someone@example.org\r\n"));
  EXPECT_FALSE(Has(p->inner_headers, "MIME-Version"));
  EXPECT_EQ(TopField(p->message, "Content-Type"), "text/plain; charset=us-ascii; hp=\"cipher\"");
  EXPECT_EQ(TopField(p->message, "Subject"), "Quarterly numbers") << "kept outside by default";
  EXPECT_FALSE(p->legacy_display);
  EXPECT_TRUE(p->message.ends_with("\r\n\r\nBody\r\n"));
}

TEST(ProtectHeaders, ObscuredSubjectGetsALegacyDisplay) {
  auto p = ProtectHeaders(TextMessage(kAlice, "Dinner plans", "Let's meet.\r\n"), HpMode::kCipher,
                          true, {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(TopField(p->message, "Subject"), "[...]");
  EXPECT_TRUE(Has(p->inner_headers, "Subject: Dinner plans\r\n"));
  EXPECT_TRUE(Has(p->inner_headers, "HP-Outer: Subject: [...]\r\n"));
  EXPECT_TRUE(p->legacy_display);
  EXPECT_EQ(TopField(p->message, "Content-Type"),
            "text/plain; charset=us-ascii; hp-legacy-display=\"1\"; hp=\"cipher\"");
  EXPECT_TRUE(p->message.ends_with("\r\n\r\nSubject: Dinner plans\r\n\r\nLet's meet.\r\n"));
}

TEST(ProtectHeaders, ClearHasNoOuterRecordAndObscuresNothing) {
  auto p = ProtectHeaders(TextMessage(kAlice, "Signed only"), HpMode::kClear, true, {});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(Has(p->inner_headers, "Subject: Signed only\r\n"));
  EXPECT_FALSE(Has(p->inner_headers, "HP-Outer"));
  EXPECT_EQ(TopField(p->message, "Subject"), "Signed only");
  EXPECT_TRUE(Has(TopField(p->message, "Content-Type"), "hp=\"clear\""));
  EXPECT_FALSE(p->legacy_display);
}

TEST(ProtectHeaders, LegacyDisplayInEveryAlternativeButNotInAttachments) {
  const std::string m =
      "From: alice@example.com\r\nSubject: Plans\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
      "--o\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
      "--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
      "quoted-printable\r\n\r\nHi=20Bob\r\n"
      "--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      smime::Base64Encode("<html><body><p>Hi Bob</p></body></html>") +
      "--a--\r\n"
      "--o\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
      "filename=n.txt\r\n\r\nA note\r\n--o--\r\n";
  auto p = ProtectHeaders(m, HpMode::kCipher, true, {});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->legacy_display);
  EXPECT_TRUE(Has(p->message, "quoted-printable\r\n\r\nSubject: Plans\r\n\r\nHi Bob\r\n--a"))
      << p->message;
  const size_t html = p->message.find("Content-Type: text/html");
  ASSERT_NE(html, std::string::npos);
  const size_t body = p->message.find("\r\n\r\n", html) + 4;
  const size_t end = p->message.find("\r\n--a--");
  EXPECT_NE(p->message[end - 1], '\n') << "no blank line added before the delimiter";
  auto decoded = smime::Base64Decode(p->message.substr(body, end - body));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded,
            "<html><body><div class=\"header-protection-legacy-display\"><pre>Subject: Plans"
            "</pre></div>\r\n<p>Hi Bob</p></body></html>");
  EXPECT_TRUE(Has(p->message, "filename=n.txt\r\n\r\nA note\r\n")) << "attachment untouched";
  EXPECT_TRUE(Has(TopField(p->message, "Content-Type"), "hp=\"cipher\""));
}

TEST(ProtectHeaders, AlreadyProtectedBySenderIsLeftAlone) {
  std::string m = TextMessage(kAlice, "x");
  m.replace(m.find("charset=us-ascii"), 16, "charset=us-ascii; hp=\"clear\"");
  auto p = ProtectHeaders(m, HpMode::kCipher, true, {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->message, m);
  EXPECT_TRUE(p->inner_headers.empty());
}

// ---- RestoreHeaders ---------------------------------------------------------------------

// What the engine delivers for a decrypted hp="cipher" payload: the outer
// header (outer values win) and the payload's remaining fields and body.
struct Decrypted {
  std::string form;
  std::string header;  // the payload's own header block
};
Decrypted DecryptedForm(const std::string& outer_from, const std::string& inner_from,
                        const std::string& extra_outer = "") {
  const std::string header = "Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nFrom: " + inner_from +
                             "\r\nTo: Bob <bob@example.net>\r\nSubject: Dinner plans\r\n"
                             "Message-ID: <text-plain-legacy-display@lhp.example>\r\n"
                             "Content-Type: text/plain; charset=\"us-ascii\"; "
                             "hp-legacy-display=\"1\";\r\n hp=\"cipher\"\r\n"
                             "HP-Outer: From: " +
                             outer_from + "\r\nHP-Outer: Subject: [...]\r\n";
  Decrypted d;
  d.header = header.substr(0, header.size() - 2);
  d.form = "Received: from mx.example by gw\r\nFrom: " + outer_from +
           "\r\nTo: Bob <bob@example.net>\r\nSubject: [...]\r\n" + extra_outer +
           "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=\"us-ascii\"; hp-legacy-display=\"1\";\r\n"
           " hp=\"cipher\"\r\nHP-Outer: From: " +
           outer_from +
           "\r\nHP-Outer: Subject: [...]\r\n\r\nSubject: Dinner plans\r\n\r\n"
           "Let's meet at Rama's Roti Shop at 8pm.\r\n";
  return d;
}

TEST(RestoreHeaders, RestoresSubjectDropsOuterRecordAndLegacyDisplay) {
  const Decrypted d = DecryptedForm("Alice <alice@example.net>", "Alice <alice@example.net>");
  RestoredMessage r = RestoreHeaders(d.form, d.header, {});
  ASSERT_EQ(r.result, HpRestore::kRestored) << r.detail;
  EXPECT_EQ(TopField(r.message, "Subject"), "Dinner plans");
  EXPECT_EQ(TopField(r.message, "Received"), "from mx.example by gw") << "transport fields stay";
  EXPECT_FALSE(Has(r.message, "HP-Outer"));
  EXPECT_TRUE(r.legacy_removed);
  EXPECT_TRUE(r.message.ends_with("\r\n\r\nLet's meet at Rama's Roti Shop at 8pm.\r\n"))
      << r.message;
  EXPECT_FALSE(Has(TopField(r.message, "Content-Type"), "hp-legacy-display"));
}

TEST(RestoreHeaders, OuterOnlyCcIsNotTheAuthors) {
  const Decrypted d =
      DecryptedForm("alice@example.net", "alice@example.net", "Cc: mallory@evil.example\r\n");
  RestoredMessage r = RestoreHeaders(d.form, d.header, {});
  ASSERT_EQ(r.result, HpRestore::kRestored);
  EXPECT_FALSE(Has(r.message, "mallory@evil.example"));
}

TEST(RestoreHeaders, ProtectedFromOfAnotherMailboxIsSpoofing) {
  const Decrypted d = DecryptedForm("alice@example.net", "Boss <ceo@example.net>");
  RestoredMessage r = RestoreHeaders(d.form, d.header, {});
  EXPECT_EQ(r.result, HpRestore::kSpoofed);
  EXPECT_EQ(r.message, d.form) << "delivered as it would be without header protection";
}

TEST(RestoreHeaders, PayloadWithoutFromIsMalformed) {
  Decrypted d = DecryptedForm("alice@example.net", "alice@example.net");
  d.header.erase(d.header.find("From: alice@example.net\r\n"), 25);
  RestoredMessage r = RestoreHeaders(d.form, d.header, {});
  EXPECT_EQ(r.result, HpRestore::kMalformed);
  EXPECT_EQ(r.message, d.form);
}

// Nothing decrypted, or a decrypted entity with MIME fields only: no
// protected headers. (A decrypted entity carrying From is a payload of the
// draft's protected-headers="v1" scheme: policy_header_protection_v1_test.)
TEST(RestoreHeaders, NoHpParameterNoChange) {
  const std::string m = TextMessage(kAlice, "Plain");
  for (const std::string& decrypted : {std::string(), std::string("Content-Type: text/plain")}) {
    RestoredMessage r = RestoreHeaders(m, decrypted, {});
    EXPECT_EQ(r.result, HpRestore::kNone) << decrypted;
    EXPECT_EQ(r.message, m);
  }
}

// ---- The policy ---------------------------------------------------------------------------

class HeaderProtectionPolicy : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("sg-hp"); }
  void TearDown() override { RemoveTree(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static std::unique_ptr<Harness> Make(bool enabled, bool obscure) {
    PolicyConfig c;
    c.header_protection = enabled;
    c.obscure_subject = obscure;
    auto h = std::make_unique<Harness>(c);
    h->AddCast();
    const auto& pki = GetTestPki();
    h->keys.AddDecryptionKey(kCarol, pki.carol.key.get(), pki.carol.cert.get());
    return h;
  }

  // The one form delivered to |rcpt|.
  static std::string Only(const Result<std::vector<v1::MessageRecord>>& out,
                          const std::string& rcpt) {
    EXPECT_TRUE(out.ok()) << out.error().ToString();
    if (!out.ok()) return "";
    auto forms = FormsFor(*out, rcpt);
    EXPECT_EQ(forms.size(), 1u);
    return forms.empty() ? "" : forms[0]->message();
  }

  // What carol's client decrypts with `openssl cms` (the entity only).
  std::string OpensslDecrypt(const std::string& message) {
    const auto& pki = GetTestPki();
    WriteFile(Path("enc.eml"), message);
    std::string log;
    const int rc =
        RunTool("openssl cms -decrypt -in " + Path("enc.eml") + " -recip " + pki.carol.cert_path +
                    " -inkey " + pki.carol.key_path + " -out " + Path("plain.eml"),
                &log);
    EXPECT_EQ(rc, 0) << log;
    return rc == 0 ? ReadFile(Path("plain.eml")) : "";
  }

  // `outer` (header lines) on top of `entity` signed by alice with an opaque
  // signature, as `openssl cms -sign -nodetach` makes it (smime-type=signed-data).
  std::string OpaqueSigned(const std::string& outer, const std::string& entity) {
    const auto& pki = GetTestPki();
    WriteFile(Path("entity.eml"), entity);
    std::string log;
    const int rc = RunTool("openssl cms -sign -binary -nodetach -in " + Path("entity.eml") +
                               " -signer " + pki.alice.cert_path + " -inkey " + pki.alice.key_path +
                               " -certfile " + pki.chain_path + " -out " + Path("opaque.eml"),
                           &log);
    EXPECT_EQ(rc, 0) << log;
    return outer + smime::ToCrlf(ReadFile(Path("opaque.eml")));
  }

  std::string dir_;
};

// A payload of alice's with protected headers (`hp`), the real Subject and
// Message-ID inside.
std::string ProtectedPayload(const std::string& hp, const std::string& date) {
  return "From: Alice <alice@example.com>\r\nTo: carol@example.org\r\nSubject: Board minutes\r\n"
         "Date: " +
         date +
         "\r\nMessage-ID: <minutes-7@example.com>\r\nMIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=us-ascii; hp=\"" +
         hp + "\"\r\n" + (hp == "cipher" ? "HP-Outer: Subject: [...]\r\n" : "") +
         "\r\nSECRET-BODY\r\n";
}

TEST_F(HeaderProtectionPolicy, SignedEncryptedPayloadCarriesSubjectOuterKept) {
  auto h = Make(true, false);
  const std::string m = TextMessage(kAlice, "Merger talks", "SECRET-BODY\r\n");
  const std::string out = Only(h->Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol}, m)), kCarol);
  EXPECT_EQ(TopField(out, "Subject"), "Merger talks") << "default: outer Subject as today";
  const std::string plain = OpensslDecrypt(out);
  // Sign-then-encrypt: the payload is the signed part, inside multipart/signed.
  EXPECT_TRUE(Has(plain, "multipart/signed")) << plain;
  EXPECT_TRUE(Has(plain, "Subject: Merger talks\r\n")) << plain;
  EXPECT_TRUE(Has(plain, "hp=\"cipher\"")) << plain;
  EXPECT_TRUE(Has(plain, "HP-Outer: Subject: Merger talks\r\n")) << plain;
  EXPECT_FALSE(Has(plain, "hp-legacy-display"));
  EXPECT_TRUE(Counted(h->registry, "outbound", "cipher", 1)) << h->registry.Serialize();
  // carol's client still verifies alice's signature over it.
  Opened o = Open(*h->engine, out, &GetTestPki().carol);
  EXPECT_TRUE(o.decrypt_ok);
  EXPECT_EQ(o.verify, smime::VerifyStatus::kGood);
}

TEST_F(HeaderProtectionPolicy, ObscuredSubjectOutsideRealOneInside) {
  auto h = Make(true, true);
  const std::string m = TextMessage(kAlice, "Merger talks", "SECRET-BODY\r\n");
  const std::string out = Only(h->Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol}, m)), kCarol);
  EXPECT_EQ(TopField(out, "Subject"), "[...]");
  const std::string plain = OpensslDecrypt(out);
  EXPECT_TRUE(Has(plain, "Subject: Merger talks\r\n")) << plain;
  EXPECT_TRUE(Has(plain, "HP-Outer: Subject: [...]\r\n")) << plain;
  EXPECT_TRUE(Has(plain, "hp-legacy-display=\"1\"")) << plain;
  EXPECT_TRUE(Has(plain, "\r\n\r\nSubject: Merger talks\r\n\r\nSECRET-BODY")) << plain;
}

TEST_F(HeaderProtectionPolicy, EncryptedOnlyForDomainCertificate) {
  auto h = Make(true, false);
  const std::string zed = "zed@example.com", dave = "dave@partner.example";
  const std::string m = TextMessage(zed, "Invoice 7", "SECRET-BODY\r\n");
  const std::string out = Only(h->Run(Record(v1::DIRECTION_OUTBOUND, zed, {dave}, m)), dave);
  Opened o = Open(*h->engine, out, &GetTestPki().bob);  // bob's key is the partner domain key
  ASSERT_TRUE(o.decrypt_ok);
  EXPECT_FALSE(o.signed_msg);
  // Open() shows the outer values; the payload's own header is in the CMS.
  auto dec = h->engine->Decrypt(out, std::vector<smime::KeyPair>{GetTestPki().bob.Pair()});
  ASSERT_TRUE(dec.ok());
  EXPECT_TRUE(Has(dec->entity_header, "Subject: Invoice 7")) << dec->entity_header;
  EXPECT_TRUE(Has(dec->entity_header, "hp=\"cipher\"")) << dec->entity_header;
}

TEST_F(HeaderProtectionPolicy, SignedOnlyIsClearAndStillVerifies) {
  auto h = Make(true, true);
  const std::string erin = "erin@nocert.example";
  const std::string m = TextMessage(kAlice, "Public notice", "Hello\r\n");
  const std::string out = Only(h->Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {erin}, m)), erin);
  EXPECT_EQ(TopField(out, "Subject"), "Public notice") << "nothing is hidden when not encrypted";
  EXPECT_TRUE(Has(out, "hp=\"clear\"")) << out;
  EXPECT_FALSE(Has(out, "HP-Outer"));
  Opened o = Open(*h->engine, out, nullptr);
  EXPECT_EQ(o.verify, smime::VerifyStatus::kGood);
  EXPECT_TRUE(Counted(h->registry, "outbound", "clear", 1)) << h->registry.Serialize();
}

TEST_F(HeaderProtectionPolicy, OffWritesNoProtectedHeaders) {
  auto h = Make(false, true);
  const std::string m = TextMessage(kAlice, "Merger talks", "SECRET-BODY\r\n");
  const std::string out = Only(h->Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol}, m)), kCarol);
  EXPECT_EQ(TopField(out, "Subject"), "Merger talks");
  const std::string plain = OpensslDecrypt(out);
  EXPECT_FALSE(Has(plain, "hp=")) << plain;
  EXPECT_FALSE(Has(plain, "Subject:")) << plain;
}

// A tenant's obscure_subject beats the config file's, both ways.
TEST_F(HeaderProtectionPolicy, TenantPolicyDecidesTheOuterSubject) {
  for (const bool global : {false, true}) {
    auto h = Make(true, global);
    TenantPolicies policies;
    h->processor->SetTenantPolicies(&policies, false);
    keyservice::TenantPolicy p;
    p.tenant = "ta";
    p.obscure_subject = global ? "off" : "on";
    keyservice::TenantRoutingTable t;
    t.domains = {{"example.com", "ta"}};
    t.policies = {p};
    policies.Replace(TenantPolicyTable::Build(t));
    const std::string m = TextMessage(kAlice, "Merger talks", "SECRET-BODY\r\n");
    const std::string out =
        Only(h->Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol}, m)), kCarol);
    EXPECT_EQ(TopField(out, "Subject"), global ? "Merger talks" : "[...]") << "global " << global;
  }
}

// Thunderbird's S/MIME engine (NSS, `cmsutil -D` in a fresh NSS db holding
// carol's key) decrypts an outbound hp="cipher" message: the payload inside
// carries the real Subject while the outside shows "[...]".
TEST_F(HeaderProtectionPolicy, NssDecryptsTheRealSubjectInside) {
  if (RunTool("command -v cmsutil && command -v certutil && command -v pk12util") != 0) {
    FAIL() << "libnss3-tools not installed (scripts/setup-deps.sh installs it)";
  }
  auto h = Make(true, true);
  const std::string m = TextMessage(kAlice, "Merger talks", "SECRET-BODY\r\n");
  const std::string out = Only(h->Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol}, m)), kCarol);
  ASSERT_EQ(TopField(out, "Subject"), "[...]");
  const std::string db = "sql:" + dir_;
  std::string log;
  ASSERT_EQ(RunTool("certutil -N -d " + db + " --empty-password", &log), 0) << log;
  const std::string p12 = smime::testing::MakeLegacyP12(GetTestPki().carol, dir_, "pw");
  ASSERT_EQ(RunTool("pk12util -i " + p12 + " -d " + db + " -W pw", &log), 0) << log;
  WriteFile(Path("enc.der"), smime::testing::ExtractP7m(out));
  ASSERT_EQ(
      RunTool("cmsutil -D -i " + Path("enc.der") + " -o " + Path("nss.eml") + " -d " + db, &log), 0)
      << log;
  const std::string plain = ReadFile(Path("nss.eml"));
  EXPECT_TRUE(Has(plain, "SECRET-BODY")) << plain;
  // Sign-then-encrypt: the payload is the signed part of the multipart/signed.
  auto top = smime::ParseEntity(plain, {});
  ASSERT_TRUE(top.ok()) << plain;
  auto parts =
      smime::SplitMultipart(top->body, smime::EntityContentType(*top).Param("boundary"), {});
  ASSERT_TRUE(parts.ok() && !parts->parts.empty()) << plain;
  const std::string payload = HeaderBlock(std::string(parts->parts.front()));
  EXPECT_TRUE(Has(payload, "Subject: Merger talks\r\n")) << payload;
  EXPECT_TRUE(Has(payload, "hp=\"cipher\"")) << payload;
  EXPECT_TRUE(Has(payload, "HP-Outer: Subject: [...]\r\n")) << payload;
}

// Outbound from alice to carol with the Subject obscured, then the very
// form inbound to carol: the gateway restores the Subject and marks it.
TEST_F(HeaderProtectionPolicy, RoundTripRestoresHeaders) {
  auto h = Make(true, true);
  const std::string m = TextMessage(kAlice, "Merger talks", "SECRET-BODY\r\n");
  const std::string sent =
      Only(h->Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol}, m)), kCarol);
  ASSERT_EQ(TopField(sent, "Subject"), "[...]");
  auto in = h->Run(Record(v1::DIRECTION_INBOUND, kAlice, {kCarol}, sent));
  const std::string got = Only(in, kCarol);
  EXPECT_EQ(TopField(got, "Subject"), "[secure] [signed OK] Merger talks") << got;
  EXPECT_FALSE(Has(HeaderBlock(got), "HP-Outer"));
  EXPECT_TRUE(Counted(h->registry, "inbound", "restored", 1)) << h->registry.Serialize();
  ASSERT_TRUE(in.ok());
  bool noted = false;
  for (const auto& n : FormsFor(*in, kCarol)[0]->notes()) {
    noted = noted || (n.action() == "header_protection" && n.rule() == "restored");
  }
  EXPECT_TRUE(noted);
}

// RFC 9788 Appendix E.1's message (legacy display, hp="cipher"), encrypted
// to carol with `openssl cms` (the RFC's own ciphertexts are for RFC 9216's
// keys, which the search tool could not give us whole).
TEST_F(HeaderProtectionPolicy, OpensslEncryptedRfcExampleIsRestored) {
  auto h = Make(true, false);
  const std::string entity =
      "Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nFrom: Alice <alice@example.net>\r\n"
      "To: Carol <carol@example.org>\r\nSubject: Dinner plans\r\n"
      "Message-ID: <text-plain-legacy-display@lhp.example>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=\"us-ascii\"; hp-legacy-display=\"1\";\r\n"
      " hp=\"cipher\"\r\n"
      "HP-Outer: Date: Fri, 21 Jan 2022 20:40:48 -0500\r\n"
      "HP-Outer: From: Alice <alice@example.net>\r\nHP-Outer: To: Carol <carol@example.org>\r\n"
      "HP-Outer: Subject: [...]\r\n"
      "HP-Outer: Message-ID: <text-plain-legacy-display@lhp.example>\r\n\r\n"
      "Subject: Dinner plans\r\n\r\n"
      "Let's meet at Rama's Roti Shop at 8pm and go to the park\r\nfrom there.\r\n";
  WriteFile(Path("entity.eml"), entity);
  std::string log;
  ASSERT_EQ(RunTool("openssl cms -encrypt -aes-256-cbc -binary -in " + Path("entity.eml") +
                        " -out " + Path("enc.eml") + " -from 'Alice <alice@example.net>'" +
                        " -to 'Carol <carol@example.org>' -subject '[...]' " +
                        GetTestPki().carol.cert_path,
                    &log),
            0)
      << log;
  const std::string enc = ReadFile(Path("enc.eml"));
  auto in = h->Run(Record(v1::DIRECTION_INBOUND, "alice@example.net", {kCarol}, enc));
  const std::string got = Only(in, kCarol);
  EXPECT_EQ(TopField(got, "Subject"), "[secure] Dinner plans") << got;
  EXPECT_EQ(TopField(got, "Message-ID"), "<text-plain-legacy-display@lhp.example>");
  EXPECT_FALSE(Has(got, "HP-Outer"));
  const std::string crlf = smime::ToCrlf(got);
  auto e = smime::ParseEntity(crlf, {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->body, "Let's meet at Rama's Roti Shop at 8pm and go to the park\r\nfrom there.\r\n")
      << "the legacy display element is gone";
}

// An opaque signature (smime-type=signed-data) over a payload with
// hp="clear": the signed header fields replace what a relay changed outside;
// the signature stays (the form is delivered as received apart from the
// top-level header) and still verifies.
TEST_F(HeaderProtectionPolicy, OpaqueSignedPayloadIsRestored) {
  auto h = Make(true, false);
  const std::string date = smime::testing::DateNow();
  const std::string m = OpaqueSigned(
      "From: Alice <alice@example.com>\r\nTo: carol@example.org\r\nSubject: [EXT] minutes\r\n"
      "Date: " +
          date + "\r\nMessage-ID: <relay-1@relay.example>\r\n",
      ProtectedPayload("clear", date));
  ASSERT_EQ(smime::DetectSmime(m), smime::SmimeKind::kSignedOpaque);
  auto in = h->Run(Record(v1::DIRECTION_INBOUND, kAlice, {kCarol}, m));
  const std::string got = Only(in, kCarol);
  EXPECT_EQ(TopField(got, "Subject"), "[signed OK] Board minutes") << got;
  EXPECT_EQ(TopField(got, "Message-ID"), "<minutes-7@example.com>");
  EXPECT_EQ(smime::DetectSmime(got), smime::SmimeKind::kSignedOpaque);
  EXPECT_EQ(Open(*h->engine, got, nullptr).verify, smime::VerifyStatus::kGood);
  EXPECT_TRUE(Counted(h->registry, "inbound", "restored", 1)) << h->registry.Serialize();
}

// Sign (opaque) then encrypt, the outer Subject obscured: after decryption
// the payload is under the opaque signature, not in the decrypted entity.
TEST_F(HeaderProtectionPolicy, OpaqueSignedThenEncryptedPayloadIsRestored) {
  auto h = Make(true, false);
  const std::string date = smime::testing::DateNow();
  const std::string outer =
      "From: Alice <alice@example.com>\r\nTo: carol@example.org\r\n"
      "Subject: [...]\r\nDate: " +
      date + "\r\n";
  const std::string signed_msg = OpaqueSigned(outer, ProtectedPayload("cipher", date));
  smime::Recipient r{GetTestPki().carol.cert};
  auto enc = h->engine->Encrypt(signed_msg, std::span<const smime::Recipient>(&r, 1));
  ASSERT_TRUE(enc.ok()) << enc.error().ToString();
  auto in = h->Run(Record(v1::DIRECTION_INBOUND, kAlice, {kCarol}, enc->message));
  const std::string got = Only(in, kCarol);
  EXPECT_EQ(TopField(got, "Subject"), "[secure] [signed OK] Board minutes") << got;
  EXPECT_EQ(TopField(got, "Message-ID"), "<minutes-7@example.com>");
  EXPECT_EQ(smime::DetectSmime(got), smime::SmimeKind::kSignedOpaque) << "the reader verifies it";
  EXPECT_TRUE(Counted(h->registry, "inbound", "restored", 1)) << h->registry.Serialize();
}

TEST_F(HeaderProtectionPolicy, SpoofedProtectedFromIsNotRestored) {
  auto h = Make(true, false);
  // The payload claims the CEO, the outside (what was checked) says alice.
  const std::string payload =
      "From: CEO <ceo@example.com>\r\nSubject: Wire the money\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=us-ascii; hp=\"cipher\"\r\n\r\nNow.\r\n";
  smime::Recipient r{GetTestPki().carol.cert};
  smime::EncryptOptions options;
  options.inner_headers = payload.substr(0, payload.find("MIME-Version"));
  auto enc = h->engine->Encrypt(
      "From: alice@example.com\r\nSubject: Hi\r\n" + payload.substr(payload.find("MIME-Version")),
      std::span<const smime::Recipient>(&r, 1), options);
  ASSERT_TRUE(enc.ok());
  auto in = h->Run(Record(v1::DIRECTION_INBOUND, kAlice, {kCarol}, enc->message));
  const std::string got = Only(in, kCarol);
  EXPECT_EQ(TopField(got, "Subject"), "[secure] Hi");
  EXPECT_TRUE(Has(TopField(got, "From"), "alice@example.com"));
  EXPECT_TRUE(Counted(h->registry, "inbound", "spoofed", 1)) << h->registry.Serialize();
}

}  // namespace
}  // namespace sg::workers::testing
