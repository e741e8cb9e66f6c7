// Inbound header protection in the earlier scheme
// (draft-autocrypt-lamps-protected-headers, protected-headers="v1"; what
// Thunderbird writes and the autocrypt smime-* example messages use),
// restored through RestoreHeaders like RFC 9788's:
//   * RestoreHeaders table by table on decrypted / verified forms;
//   * the policy on messages generated here with `openssl cms` (our test
//     PKI: alice signs, carol is the hosted recipient) in the MIME
//     structures of the autocrypt examples: onepart-signed,
//     multipart-signed, sign+enc, sign+enc+legacy-disp, enc+legacy-disp and
//     multilayer (multipart/signed inside the encryption), each with and
//     without the parameter on the payload.
#include <array>

#include <gtest/gtest.h>

#include "tests/workers/policy/header_protection_test_util.h"
#include "tests/workers/policy/policy_test_util.h"
#include "workers/policy/policy_header_protection.h"
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
constexpr const char* kSubject = "BarCorp contract signed, let's go!";

// ---- Payloads ---------------------------------------------------------------------------

// The payload's protected fields (the author's), as the examples write them.
std::string ProtectedFields(const std::string& from = "Alice Lovelace <alice@example.com>") {
  return "From: " + from +
         "\r\nTo: Carol Cook <carol@example.org>\r\nDate: " + smime::testing::DateNow() +
         "\r\nSubject: " + kSubject + "\r\nMessage-ID: <v1-contract@example.com>\r\n";
}

constexpr const char* kText = "Hi Carol!\r\n\r\nSECRET-BODY: the account is examplecorptest.\r\n";

// The legacy display part and the original body in a multipart/mixed.
std::string LegacyBody(const std::string& legacy_type = "text/rfc822-headers",
                       const std::string& disposition = "inline", bool third_part = false) {
  return "--lw\r\ncontent-type: " + legacy_type +
         "; protected-headers=\"v1\"\r\nContent-Disposition: " + disposition +
         "\r\n\r\nSubject: " + kSubject +
         "\r\n\r\n--lw\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n" + kText +
         (third_part ? "\r\n--lw\r\nContent-Type: text/x-diff\r\nContent-Disposition: inline; "
                       "filename=\"a.diff\"\r\n\r\n+account\r\n"
                     : "") +
         "\r\n--lw--\r\n";
}

// The payload entity: header fields + body. |param|: protected-headers="v1"
// on its Content-Type (Thunderbird); without, as the autocrypt examples.
std::string Payload(bool legacy, bool param, const std::string& fields = ProtectedFields()) {
  const std::string mark = param ? "; protected-headers=\"v1\"" : "";
  if (legacy) {
    return "Content-Type: multipart/mixed; boundary=\"lw\"" + mark + "\r\n" + fields + "\r\n" +
           LegacyBody();
  }
  return "Content-Type: text/plain; charset=\"us-ascii\"" + mark + "\r\n" + fields + "\r\n" + kText;
}

// ---- RestoreHeaders ----------------------------------------------------------------------

// What the engine delivers after decrypting |payload| (outer values win for
// the fields both carry) and the payload's own header block.
struct Decrypted {
  std::string form;
  std::string header;
};
Decrypted DecryptedForm(const std::string& payload) {
  auto e = smime::ParseEntity(payload, {});
  EXPECT_TRUE(e.ok());
  Decrypted d;
  d.header = std::string(e->header_block);
  std::string content;
  for (const auto& f : e->fields) {
    if (!smime::NameIs(f.name, "Content-Type")) continue;
    content += smime::ToCrlf(f.raw);
    if (!content.ends_with("\r\n")) content += "\r\n";
  }
  d.form = "Received: from mx.example by gw\r\nFrom: alice@example.com\r\n"
           "To: carol@example.org\r\nSubject: ...\r\nMIME-Version: 1.0\r\n" +
           content + "\r\n" + std::string(e->body);
  return d;
}

struct RestoreCase {
  const char* name;
  std::string payload;
  HpRestore want;
  bool legacy_removed;
};

TEST(RestoreHeadersV1, DecryptedPayloads) {
  const std::vector<RestoreCase> cases = {
      {"parameter on text/plain", Payload(false, true), HpRestore::kRestored, false},
      {"no parameter, protected fields inside the encryption", Payload(false, false),
       HpRestore::kRestored, false},
      {"legacy display, parameter", Payload(true, true), HpRestore::kRestored, true},
      {"legacy display, no parameter (autocrypt smime-enc+legacy-disp)", Payload(true, false),
       HpRestore::kRestored, true},
      {"parameter name and value in other case",
       "Content-Type: text/plain; Protected-Headers=\"V1\"\r\n" + ProtectedFields() + "\r\nx\r\n",
       HpRestore::kRestored, false},
      {"legacy display as text/plain",
       "Content-Type: multipart/mixed; boundary=\"lw\"\r\n" + ProtectedFields() + "\r\n" +
           LegacyBody("text/plain"),
       HpRestore::kRestored, true},
      {"legacy-like part as an attachment stays",
       "Content-Type: multipart/mixed; boundary=\"lw\"; protected-headers=\"v1\"\r\n" +
           ProtectedFields() + "\r\n" + LegacyBody("text/rfc822-headers", "attachment"),
       HpRestore::kRestored, false},
      {"spoofed From", Payload(false, true, ProtectedFields("CEO <ceo@example.com>")),
       HpRestore::kSpoofed, false},
      {"parameter without From",
       "Content-Type: text/plain; protected-headers=\"v1\"\r\nSubject: x\r\n\r\nx\r\n",
       HpRestore::kMalformed, false},
      {"legacy display without From",
       "Content-Type: multipart/mixed; boundary=\"lw\"\r\nSubject: x\r\n\r\n" + LegacyBody(),
       HpRestore::kMalformed, false},
      {"unknown version", "Content-Type: text/plain; protected-headers=\"v2\"\r\n" +
                              ProtectedFields() + "\r\nx\r\n",
       HpRestore::kMalformed, false},
      {"two Subjects", Payload(false, true, ProtectedFields() + "Subject: other\r\n"),
       HpRestore::kMalformed, false},
      {"an ordinary encrypted entity (MIME fields only)",
       "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n", HpRestore::kNone, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Decrypted d = DecryptedForm(c.payload);
    RestoredMessage r = RestoreHeaders(d.form, d.header, {});
    EXPECT_EQ(HpRestoreName(r.result), HpRestoreName(c.want)) << r.detail;
    EXPECT_EQ(r.legacy_removed, c.legacy_removed);
    if (c.want != HpRestore::kRestored) {
      EXPECT_EQ(r.message, d.form) << "delivered as without header protection";
      continue;
    }
    EXPECT_EQ(TopField(r.message, "Subject"), Has(c.payload, kSubject) ? kSubject : "x");
    EXPECT_EQ(TopField(r.message, "From"), "Alice Lovelace <alice@example.com>");
    EXPECT_EQ(TopField(r.message, "To"), "Carol Cook <carol@example.org>");
    EXPECT_EQ(TopField(r.message, "Received"), "from mx.example by gw");
    EXPECT_EQ(Has(r.message, "rfc822-headers") || Has(r.message, "\r\n\r\nSubject: "),
              !c.legacy_removed && Has(c.payload, "--lw"))
        << r.message;
  }
}

// Removing the legacy display leaves one part: that part takes the
// wrapper's place, its Content-* fields at the top.
TEST(RestoreHeadersV1, LegacyDisplayRemovedOnePartLeftIsUnwrapped) {
  const Decrypted d = DecryptedForm(Payload(true, false));
  RestoredMessage r = RestoreHeaders(d.form, d.header, {});
  ASSERT_EQ(r.result, HpRestore::kRestored) << r.detail;
  EXPECT_EQ(TopField(r.message, "Content-Type"), "text/plain; charset=\"us-ascii\"");
  EXPECT_EQ(Body(r.message), kText) << r.message;
  EXPECT_EQ(TopField(r.message, "MIME-Version"), "1.0");
}

// Three parts: only the legacy display goes, the multipart stays.
TEST(RestoreHeadersV1, LegacyDisplayRemovedOthersStay) {
  const Decrypted d = DecryptedForm("Content-Type: multipart/mixed; boundary=\"lw\"\r\n" +
                                    ProtectedFields() + "\r\n" +
                                    LegacyBody("text/rfc822-headers", "inline", true));
  RestoredMessage r = RestoreHeaders(d.form, d.header, {});
  ASSERT_EQ(r.result, HpRestore::kRestored) << r.detail;
  EXPECT_TRUE(r.legacy_removed);
  EXPECT_EQ(TopField(r.message, "Content-Type"), "multipart/mixed; boundary=\"lw\"");
  EXPECT_EQ(Body(r.message), "--lw\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n" +
                                 std::string(kText) +
                                 "\r\n--lw\r\nContent-Type: text/x-diff\r\nContent-Disposition: "
                                 "inline; filename=\"a.diff\"\r\n\r\n+account\r\n\r\n--lw--\r\n");
}

// Signed only: the payload is the first part of a multipart/signed (or under
// an opaque signature); without the parameter nothing is read.
TEST(RestoreHeadersV1, SignedOnlyNeedsTheParameter) {
  for (const bool param : {true, false}) {
    SCOPED_TRACE(param ? "parameter" : "no parameter");
    const std::string payload = Payload(false, param);
    const std::string detached =
        "From: alice@example.com\r\nTo: carol@example.org\r\nSubject: [EXT] relayed\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/signed; boundary=\"s\"; "
        "protocol=\"application/pkcs7-signature\"; micalg=sha-256\r\n\r\n--s\r\n" +
        payload + "\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--s--\r\n";
    RestoredMessage r = RestoreHeaders(detached, "", {});
    EXPECT_EQ(r.result, param ? HpRestore::kRestored : HpRestore::kNone) << r.detail;
    EXPECT_EQ(TopField(r.message, "Subject"), param ? kSubject : "[EXT] relayed");
    EXPECT_FALSE(r.legacy_removed);
    // Opaque: the signed entity's header block.
    const std::string opaque =
        "From: alice@example.com\r\nSubject: [EXT] relayed\r\nMIME-Version: 1.0\r\n"
        "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nAAAA\r\n";
    auto e = smime::ParseEntity(payload, {});
    ASSERT_TRUE(e.ok());
    r = RestoreHeaders(opaque, "", {}, e->header_block);
    EXPECT_EQ(r.result, param ? HpRestore::kRestored : HpRestore::kNone) << r.detail;
  }
}

// A message nobody encrypted or signed with a legacy-display-like first
// part is not touched (the caller only asks for S/MIME layers, but the
// function must not guess either).
TEST(RestoreHeadersV1, NoCryptographicPayloadNoChange) {
  const std::string m = "From: alice@example.com\r\nSubject: ...\r\n" + Payload(true, false);
  RestoredMessage r = RestoreHeaders(m, "", {});
  EXPECT_EQ(r.result, HpRestore::kNone);
  EXPECT_EQ(r.message, m);
}

// ---- The policy, on messages made by `openssl cms` --------------------------------------

enum class Shape {
  kOnepartSigned,     // opaque signed-data over the payload
  kMultipartSigned,   // multipart/signed, the payload its first part
  kSignEnc,           // opaque signed-data, encrypted
  kSignEncLegacy,     // the same with a legacy display part
  kEncLegacy,         // encrypted only, with a legacy display part
  kMultilayer,        // multipart/signed inside the encryption, legacy display
  kMultilayerPlain,   // multipart/signed inside the encryption, text/plain payload
};

struct ShapeCase {
  const char* name;
  Shape shape;
  bool encrypted;
  bool legacy;
  bool signed_inside;
};

const std::array<ShapeCase, 7> kShapes = {{
    {"onepart-signed", Shape::kOnepartSigned, false, false, true},
    {"multipart-signed", Shape::kMultipartSigned, false, false, true},
    {"sign+enc", Shape::kSignEnc, true, false, true},
    {"sign+enc+legacy-disp", Shape::kSignEncLegacy, true, true, true},
    {"enc+legacy-disp", Shape::kEncLegacy, true, true, false},
    {"multilayer+legacy-disp", Shape::kMultilayer, true, true, true},
    {"multilayer", Shape::kMultilayerPlain, true, false, true},
}};

class HeaderProtectionV1Policy : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("sg-hpv1"); }
  void TearDown() override { RemoveTree(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // `openssl cms <args> -in <entity> -out ... <recipients>` (CRLF output).
  std::string Cms(const std::string& args, const std::string& entity,
                  const std::string& recipients = "") {
    WriteFile(Path("in.eml"), entity);
    std::string log;
    const int rc = RunTool("openssl cms " + args + " -in " + Path("in.eml") + " -out " +
                               Path("out.eml") + " " + recipients,
                           &log);
    EXPECT_EQ(rc, 0) << log;
    return smime::ToCrlf(ReadFile(Path("out.eml")));
  }
  std::string Sign(const std::string& entity, bool opaque) {
    const auto& pki = GetTestPki();
    return Cms(std::string("-sign -binary ") + (opaque ? "-nodetach " : "") + "-signer " +
                   pki.alice.cert_path + " -inkey " + pki.alice.key_path + " -certfile " +
                   pki.chain_path,
               entity);
  }
  std::string Encrypt(const std::string& entity) {
    return Cms("-encrypt -aes-256-cbc -binary", entity, GetTestPki().carol.cert_path);
  }

  // The message in |shape|, the outer header on top (openssl's own MIME
  // fields follow it). Signed-only mail shows a Subject a relay changed;
  // encrypted mail an obscured one, as the draft writes it.
  std::string Build(const ShapeCase& c, bool param) {
    const std::string payload = Payload(c.legacy, param);
    std::string cms;
    switch (c.shape) {
      case Shape::kOnepartSigned:
        cms = Sign(payload, true);
        break;
      case Shape::kMultipartSigned:
        cms = Sign(payload, false);
        break;
      case Shape::kSignEnc:
      case Shape::kSignEncLegacy:
        cms = Encrypt(Sign(payload, true));
        break;
      case Shape::kEncLegacy:
        cms = Encrypt(payload);
        break;
      case Shape::kMultilayer:
      case Shape::kMultilayerPlain:
        cms = Encrypt(Sign(payload, false));
        break;
    }
    return "From: alice@example.com\r\nTo: carol@example.org\r\nDate: " +
           smime::testing::DateNow() + "\r\nMessage-ID: <outer-1@relay.example>\r\nSubject: " +
           (c.encrypted ? "..." : "[EXT] The contract") + "\r\n" + cms;
  }

  std::string dir_;
};

TEST_F(HeaderProtectionV1Policy, EveryShapeIsRestored) {
  for (const ShapeCase& c : kShapes) {
    for (const bool param : {true, false}) {
      // Signed-only payloads without the parameter are not read (below).
      if (!c.encrypted && !param) continue;
      SCOPED_TRACE(std::string(c.name) + (param ? " with" : " without") + " the parameter");
      PolicyConfig config;
      Harness h(config);
      h.AddCast();
      h.keys.AddDecryptionKey(kCarol, GetTestPki().carol.key.get(),
                              GetTestPki().carol.cert.get());
      const std::string m = Build(c, param);
      auto out = h.Run(Record(v1::DIRECTION_INBOUND, kAlice, {kCarol}, m));
      ASSERT_TRUE(out.ok()) << out.error().ToString();
      auto forms = FormsFor(*out, kCarol);
      ASSERT_EQ(forms.size(), 1u);
      const std::string got = smime::ToCrlf(forms[0]->message());
      const std::string marks = std::string(c.encrypted ? "[secure] " : "") + "[signed OK] ";
      EXPECT_EQ(TopField(got, "Subject"), c.signed_inside ? marks + kSubject
                                                          : std::string("[secure] ") + kSubject)
          << got.substr(0, 600);
      EXPECT_EQ(TopField(got, "From"), "Alice Lovelace <alice@example.com>");
      EXPECT_EQ(TopField(got, "To"), "Carol Cook <carol@example.org>");
      EXPECT_EQ(TopField(got, "Message-ID"), "<v1-contract@example.com>");
      EXPECT_TRUE(Has(h.registry.Serialize(),
                      "smimegate_policy_header_protection_total{direction=\"inbound\","
                      "result=\"restored\"} 1\n"))
          << h.registry.Serialize();
      if (c.signed_inside) {
        // The signature the legacy display may sit under keeps verifying
        // in the reader's client: nothing under it changed.
        auto v = h.engine->Verify(got, GetTestPki().Trust(), NowMs() / 1000);
        ASSERT_TRUE(v.ok()) << v.error().ToString();
        EXPECT_EQ(v->status, smime::VerifyStatus::kGood) << v->detail;
        const std::string covered =
            smime::DetectSmime(got) == smime::SmimeKind::kSignedOpaque ? v->content : got;
        EXPECT_EQ(Has(covered, "text/rfc822-headers; protected-headers=\"v1\""), c.legacy)
            << covered.substr(0, 600);
      } else {
        // Encrypted only: the legacy display part is gone, the body part
        // took the wrapper's place.
        EXPECT_FALSE(Has(got, "rfc822-headers")) << got;
        EXPECT_EQ(TopField(got, "Content-Type"), "text/plain; charset=\"us-ascii\"");
        EXPECT_TRUE(Has(Body(got), "SECRET-BODY")) << got;
        EXPECT_FALSE(Has(Body(got), std::string("Subject: ") + kSubject)) << got;
      }
    }
  }
}

// Signed only, no parameter on the payload: not header protection as far
// as the gateway can tell; the form goes out as without it.
TEST_F(HeaderProtectionV1Policy, SignedOnlyWithoutTheParameterIsLeftAlone) {
  for (const ShapeCase& c : {kShapes[0], kShapes[1]}) {
    SCOPED_TRACE(c.name);
    Harness h;
    h.AddCast();
    const std::string m = Build(c, false);
    auto out = h.Run(Record(v1::DIRECTION_INBOUND, kAlice, {kCarol}, m));
    ASSERT_TRUE(out.ok()) << out.error().ToString();
    auto forms = FormsFor(*out, kCarol);
    ASSERT_EQ(forms.size(), 1u);
    const std::string got = smime::ToCrlf(forms[0]->message());
    EXPECT_EQ(TopField(got, "Subject"), "[signed OK] [EXT] The contract");
    EXPECT_EQ(TopField(got, "From"), "alice@example.com");
    EXPECT_FALSE(Has(h.registry.Serialize(), "direction=\"inbound\",result=\"restored\""));
  }
}

// The encrypted payload names another author than the outside (which the
// gateway's checks used): nothing is restored, a spoofed count.
TEST_F(HeaderProtectionV1Policy, SpoofedInnerFromIsNotRestored) {
  Harness h;
  h.AddCast();
  h.keys.AddDecryptionKey(kCarol, GetTestPki().carol.key.get(), GetTestPki().carol.cert.get());
  const std::string m =
      "From: alice@example.com\r\nTo: carol@example.org\r\nSubject: ...\r\n" +
      Encrypt(Payload(true, true, ProtectedFields("CEO <ceo@example.com>")));
  auto out = h.Run(Record(v1::DIRECTION_INBOUND, kAlice, {kCarol}, m));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  auto forms = FormsFor(*out, kCarol);
  ASSERT_EQ(forms.size(), 1u);
  const std::string got = smime::ToCrlf(forms[0]->message());
  EXPECT_EQ(TopField(got, "Subject"), "[secure] ...");
  EXPECT_EQ(TopField(got, "From"), "alice@example.com");
  EXPECT_TRUE(Has(got, "rfc822-headers")) << "delivered as decrypted, nothing removed";
  EXPECT_TRUE(Has(h.registry.Serialize(),
                  "smimegate_policy_header_protection_total{direction=\"inbound\","
                  "result=\"spoofed\"} 1\n"))
      << h.registry.Serialize();
}

}  // namespace
}  // namespace sg::workers::testing
