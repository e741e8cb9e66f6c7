// MIME primitives and transport-safe canonicalisation, table-driven where it fits.
#include "workers/smime/smime_mime.h"

#include <gtest/gtest.h>

#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_detect.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime {
namespace {

TEST(MimeParse, FieldsFoldsAndBody) {
  std::string msg = "Subject: a\r\n long subject\r\nFrom: x@y\nX-Empty:\r\n\r\nbody\r\n";
  auto e = ParseEntity(msg, MimeLimits{});
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->fields.size(), 3u);
  EXPECT_EQ(e->fields[0].name, "Subject");
  EXPECT_EQ(FieldValue(e->fields[0]), "a long subject");
  EXPECT_EQ(FieldValue(e->fields[1]), "x@y");
  EXPECT_EQ(e->body, "body\r\n");
  EXPECT_TRUE(e->has_separator);
}

TEST(MimeParse, HeaderLimits) {
  MimeLimits small;
  small.max_header_bytes = 1000;
  small.max_header_fields = 10;
  std::string huge = "Subject: " + std::string(5000, 'a') + "\r\n\r\nbody";
  auto e = ParseEntity(huge, small);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kResourceExhausted);
  std::string many;
  for (int i = 0; i < 20; ++i) many += "X-H: 1\r\n";
  EXPECT_EQ(ParseEntity(many + "\r\n", small).error().code, ErrorCode::kResourceExhausted);
}

TEST(MimeParse, ContentTypeParameters) {
  struct Case {
    const char* value;
    const char* mime;
    const char* param;
    const char* want;
  };
  const Case cases[] = {
      {"multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"a "
       "b\"",
       "multipart/signed", "boundary", "a b"},
      {"TEXT/Plain; CHARSET=utf-8 (comment)", "text/plain", "charset", "utf-8"},
      {"application/pkcs7-mime;\r\n smime-type=enveloped-data; name=smime.p7m",
       "application/pkcs7-mime", "smime-type", "enveloped-data"},
      {"garbage", "text/plain", "charset", ""},
      {"multipart/mixed; boundary=\"q\\\"x\"", "multipart/mixed", "boundary", "q\"x"},
      // Found by the smime_mime fuzz target: a comment that ends in a lone
      // backslash threw std::out_of_range (a worker crash on one message).
      {"(mul\\", "text/plain", "charset", ""},
      {"text/plain; a=(x\\", "text/plain", "a", ""},
  };
  for (const Case& c : cases) {
    ContentType ct = ParseContentType(c.value);
    EXPECT_EQ(ct.Mime(), c.mime) << c.value;
    EXPECT_EQ(ct.Param(c.param), c.want) << c.value;
  }
}

TEST(MimeMultipart, ExactPartsPreambleEpilogue) {
  std::string body =
      "pre\r\n--b\r\npart one\r\n--bx not a delimiter\r\n--b\r\n\r\npart two\r\n--b--\r\nepi";
  auto mp = SplitMultipart(body, "b", MimeLimits{});
  ASSERT_TRUE(mp.ok());
  EXPECT_EQ(mp->preamble, "pre");
  ASSERT_EQ(mp->parts.size(), 2u);
  EXPECT_EQ(mp->parts[0], "part one\r\n--bx not a delimiter");
  EXPECT_EQ(mp->parts[1], "\r\npart two");
  EXPECT_TRUE(mp->closed);
  EXPECT_EQ(mp->epilogue, "epi");
  EXPECT_EQ(SplitMultipart("no delimiter", "b", MimeLimits{}).error().code,
            ErrorCode::kInvalidArgument);
  auto truncated = SplitMultipart("--b\r\nabc", "b", MimeLimits{});
  ASSERT_TRUE(truncated.ok());
  EXPECT_FALSE(truncated->closed);
}

TEST(MimeCodec, QuotedPrintableIsRelaySafeAndRoundTrips) {
  std::string text = "From the start\r\n" + std::string(200, 'x') + " \r\n\xc3\xa4=\t\r\n.\r\nend";
  std::string qp = QpEncode(text);
  size_t pos = 0;
  while (pos < qp.size()) {
    size_t eol = qp.find("\r\n", pos);
    std::string line = qp.substr(pos, (eol == std::string::npos ? qp.size() : eol) - pos);
    EXPECT_LE(line.size(), 76u) << line;
    if (!line.empty()) {
      EXPECT_NE(line.back(), ' ');
    }
    EXPECT_NE(line.substr(0, 5), "From ");
    pos = eol == std::string::npos ? qp.size() : eol + 2;
  }
  EXPECT_FALSE(NeedsTransportEncoding(qp));
  EXPECT_EQ(QpDecode(qp), text);
}

// A soft line break starts a new encoded line too: "From " or "." there
// would be rewritten by a relay (">From ", dot-stuffing) and break the
// signature. Found by the smime_mime fuzz target
// (tests/workers/smime/corpus/smime_mime/fuzz_qp_from_after_soft_break).
TEST(MimeCodec, QuotedPrintableSoftBreakNeverStartsALineWithFromOrDot) {
  for (const std::string tail : {"From here", ".", ".From x"}) {
    for (size_t fill : {73u, 74u, 75u, 76u, 150u}) {
      std::string text = std::string(fill, 'x') + tail + "\r\nnext";
      std::string qp = QpEncode(text);
      for (size_t pos = 0; pos < qp.size();) {
        size_t eol = qp.find("\r\n", pos);
        std::string line = qp.substr(pos, (eol == std::string::npos ? qp.size() : eol) - pos);
        EXPECT_NE(line.substr(0, 5), "From ") << qp;
        EXPECT_NE(line.substr(0, 1), ".") << qp;
        pos = eol == std::string::npos ? qp.size() : eol + 2;
      }
      EXPECT_FALSE(NeedsTransportEncoding(qp)) << qp;
      EXPECT_EQ(QpDecode(qp), text);
    }
  }
}

TEST(MimeCodec, Base64) {
  std::string bin;
  for (int i = 0; i < 1000; ++i) bin.push_back(static_cast<char>(i * 7));
  std::string b64 = Base64Encode(bin);
  EXPECT_EQ(b64.find("\r\n"), 76u);
  EXPECT_EQ(Base64Decode(b64).value(), bin);
  EXPECT_EQ(Base64Decode("ab$c").error().code, ErrorCode::kInvalidArgument);
  for (size_t n = 0; n < 200; ++n) {  // every tail length and line boundary
    std::string part = bin.substr(0, n);
    std::string enc = Base64Encode(part);
    EXPECT_EQ(Base64Decode(enc).value(), part) << n;
    EXPECT_TRUE(n == 0 ? enc.empty() : enc.size() >= 2 && enc.substr(enc.size() - 2) == "\r\n")
        << n;
  }
  EXPECT_EQ(Base64Encode("ab"), "YWI=\r\n");
  EXPECT_EQ(Base64Encode("a"), "YQ==\r\n");
}

TEST(MimeHeaders, ReplaceHeaderTouchesOnlyThatField) {
  std::string msg = "From: a@b\r\nSubject: old\r\n folded\r\nTo: c@d\r\n\r\nbody\r\n";
  auto out = ReplaceHeader(msg, "subject", "[tag] old folded");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "From: a@b\r\nSubject: [tag] old folded\r\nTo: c@d\r\n\r\nbody\r\n");
  EXPECT_EQ(ReplaceHeader("From: a@b\r\n\r\nx", "Subject", "new").value(),
            "From: a@b\r\nSubject: new\r\n\r\nx");
  EXPECT_FALSE(ReplaceHeader(msg, "Subject", "x\r\nBcc: evil@x").ok());
}

TEST(MimeHeaders, TagSubjectKeepsEverythingElse) {
  std::string msg =
      "From: a@b\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n aus Berlin\r\nTo: c@d\r\n\r\nbody";
  auto t = TagSubject(msg, "[signed]");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t,
            "From: a@b\r\nSubject: [signed] =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n aus Berlin\r\nTo: "
            "c@d\r\n\r\nbody");
  EXPECT_EQ(TagSubject(*t, "[signed]").value(), *t);  // idempotent
  auto utf8 = TagSubject(msg, "[verschl\xc3\xbcsselt]");
  ASSERT_TRUE(utf8.ok());
  size_t at = utf8->find("Subject: =?");
  ASSERT_NE(at, std::string::npos) << *utf8;
  std::string value = utf8->substr(at + 9, utf8->find("\r\n", at) - at - 9);
  EXPECT_EQ(value.find('\xc3'), std::string::npos);  // 7-bit on the wire
  EXPECT_EQ(TagSubject("From: a@b\r\n\r\nx", "[tag]").value(),
            "From: a@b\r\nSubject: [tag]\r\n\r\nx");
  EXPECT_EQ(TagSubject("Subject:\r\n\r\nx", "[tag]").value(), "Subject: [tag]\r\n\r\nx");
}

// Inserting a Subject must not move the line between header and body: a
// body that starts with white space (no header fields at all) would become
// a continuation of the new field, and a last header line without its line
// end would swallow it. Found by the smime_mime fuzz target
// (tests/workers/smime/corpus/smime_mime/fuzz_tag_headerless_message).
TEST(MimeHeaders, InsertedSubjectKeepsHeaderAndBodyApart) {
  for (std::string msg : {std::string(" folded-looking first line\r\nFrom: x\r\n\r\nbody\r\n"),
                          std::string("From: a@example.com\r\nTo: b@example.com")}) {
    auto before = ParseEntity(msg, {});
    auto tagged = TagSubject(msg, "[secure]");
    ASSERT_TRUE(before.ok() && tagged.ok());
    auto after = ParseEntity(*tagged, {});
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->body, before->body) << *tagged;
    ASSERT_EQ(after->fields.size(), before->fields.size() + 1) << *tagged;
    EXPECT_EQ(FieldValue(after->fields.back()), "[secure]") << *tagged;
    for (size_t i = 0; i < before->fields.size(); ++i) {
      EXPECT_EQ(FieldValue(after->fields[i]), FieldValue(before->fields[i])) << *tagged;
    }
  }
}

TEST(MimeHeaders, FirstMailbox) {
  EXPECT_EQ(FirstMailbox("Alice Example <Alice@Example.COM>"), "alice@example.com");
  EXPECT_EQ(FirstMailbox("=?utf-8?q?J=C3=B6rg?= <joerg@example.de>, other@x.y"),
            "joerg@example.de");
  EXPECT_EQ(FirstMailbox("bare@example.org"), "bare@example.org");
  EXPECT_EQ(FirstMailbox(""), "");
}

TEST(MimeDetect, Kinds) {
  EXPECT_EQ(DetectSmime("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n"),
            SmimeKind::kEnveloped);
  EXPECT_EQ(DetectSmime("Content-Type: application/x-pkcs7-mime; smime-type=signed-data\r\n\r\n"),
            SmimeKind::kSignedOpaque);
  EXPECT_EQ(
      DetectSmime("Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data\r\n\r\n"),
      SmimeKind::kAuthEnveloped);
  EXPECT_EQ(
      DetectSmime("Content-Type: multipart/signed; protocol=\"application/pgp-signature\"\r\n\r\n"),
      SmimeKind::kNone);
  EXPECT_EQ(DetectSmime("Content-Type: application/pkcs7-mime\r\n\r\n"), SmimeKind::kUnknownPkcs7);
  EXPECT_EQ(DetectSmime("Content-Type: application/octet-stream; name=\"SMIME.P7M\"\r\n\r\n"),
            SmimeKind::kUnknownPkcs7);
  EXPECT_EQ(DetectSmime("Content-Type: application/octet-stream; name=report.pdf\r\n\r\n"),
            SmimeKind::kNone);
}

TEST(Canonicalise, ReencodesWhatRelaysWouldTouch) {
  std::string entity =
      "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\n"
      "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
      "gr\xc3\xbc\xc3\x9f"
      "e\n--xx\r\n"
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "\x01\x02\r\x03\n--xx\r\n"
      "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
      std::string(300, 'q') + "\r\n--xx--\r\n";
  auto out = CanonicaliseEntity(entity, MimeLimits{});
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_TRUE(IsCrlfClean(*out));
  EXPECT_FALSE(NeedsTransportEncoding(*out)) << *out;
  EXPECT_NE(out->find("Content-Transfer-Encoding: quoted-printable\r\n\r\ngr=C3=BC=C3=9Fe"),
            std::string::npos)
      << *out;
  EXPECT_NE(out->find("Content-Transfer-Encoding: base64\r\n\r\nAQINAw==\r\n"), std::string::npos)
      << *out;
  // Idempotent: a canonical entity is left byte-identical.
  EXPECT_EQ(CanonicaliseEntity(*out, MimeLimits{}).value(), *out);
}

TEST(Canonicalise, AbsurdNestingIsRefused) {
  std::string entity;
  for (int i = 0; i < 200; ++i)
    entity += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
              std::to_string(i) + "\r\n";
  entity += "Content-Type: text/plain\r\n\r\nleaf\r\n";
  auto out = CanonicaliseEntity(entity, MimeLimits{});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kResourceExhausted);
}

// What Exchange and Apple relays do to quoted-printable: re-fold long lines
// with soft breaks and strip trailing white space.
std::string RelayRefold(const std::string& msg) {
  std::string out;
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t eol = msg.find("\r\n", pos);
    std::string line = msg.substr(pos, (eol == std::string::npos ? msg.size() : eol) - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    while (line.size() > 76) {
      out += line.substr(0, 75) + "=\r\n";
      line = line.substr(75);
    }
    out += line;
    if (eol == std::string::npos) break;
    out += "\r\n";
    pos = eol + 2;
  }
  return out;
}

TEST(QpRelay, RefoldedSignedMessageStillVerifies) {
  const auto& pki = testing::GetTestPki();
  auto engine = SmimeEngine::Create().value();
  std::string body = "A paragraph written without line breaks by a modern client, " +
                     std::string(180, 'w') +
                     "=3D end of paragraph   \r\nsecond line with trailing space \r\n";
  std::string msg =
      "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: qp\r\nDate: " +
      testing::DateNow() +
      "\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
      "quoted-printable\r\n\r\n" +
      body;
  auto trust = pki.Trust();
  auto safe = engine->Sign(msg, pki.alice.Signer());
  ASSERT_TRUE(safe.ok());
  std::string relayed = RelayRefold(*safe);
  EXPECT_EQ(relayed, *safe);  // nothing left for the relay to change
  EXPECT_EQ(engine->Verify(relayed, trust, std::time(nullptr))->status, VerifyStatus::kGood);

  // Control: signed as-is, the same relay breaks the signature.
  SignOptions raw;
  raw.transport_encode = false;
  auto fragile = engine->Sign(msg, pki.alice.Signer(), raw);
  ASSERT_TRUE(fragile.ok());
  std::string broken = RelayRefold(*fragile);
  EXPECT_NE(broken, *fragile);
  EXPECT_EQ(engine->Verify(broken, trust, std::time(nullptr))->status, VerifyStatus::kBadSignature);
}

}  // namespace
}  // namespace sg::smime
