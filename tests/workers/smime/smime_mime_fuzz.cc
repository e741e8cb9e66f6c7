// Fuzz target for the MIME splitter and canonicaliser of the S/MIME engine
// (smime_mime.h, smime_canon.h): any message a client or the internet sends.
//
// Input: a whole message. Properties beyond "no crash":
//   - ParseEntity: fields lie inside the header block, the body is the
//     input's tail; SplitMultipart: every part is a slice of the body;
//   - canonicalisation is CRLF-clean and, for CRLF-clean input (all that
//     ingress accepts), idempotent: canonical input comes out unchanged, so
//     what a relay would see is already what we signed;
//   - the split for S/MIME is the same whether written in one piece
//     (SplitForSmime) or in two (OuterHeadersForSmime + AppendEntityForSmime),
//     and with or without copying the body (SplitForSmimeNoCopy);
//   - TagSubject changes only the Subject field (DESIGN.md invariant 7:
//     signed bytes are forwarded unchanged) and tagging twice is a no-op;
//   - ToCrlf, Base64 and quoted-printable round-trip.
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/support/fuzz_check.h"
#include "workers/smime/smime_canon.h"
#include "workers/smime/smime_mime.h"

namespace {

using namespace sg::smime;  // NOLINT: a test of this namespace
using sg::Status;

// Small limits, so the fuzzer reaches them.
MimeLimits Limits() {
  MimeLimits l;
  l.max_message_bytes = 1u << 20;
  l.max_header_bytes = 16u << 10;
  l.max_header_fields = 200;
  l.max_depth = 8;
  l.max_parts = 64;
  return l;
}

bool Inside(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

void CheckParse(std::string_view msg, const MimeLimits& limits) {
  auto e = ParseEntity(msg, limits);
  if (!e.ok()) return;
  SG_FUZZ_CHECK(e->header_block.data() == msg.data());
  for (const HeaderField& f : e->fields) {
    SG_FUZZ_CHECK(Inside(f.raw, e->header_block) && !f.name.empty());
  }
  SG_FUZZ_CHECK(e->body.data() + e->body.size() == msg.data() + msg.size());
  ContentType ct = EntityContentType(*e);
  if (ct.type != "multipart") return;
  auto mp = SplitMultipart(e->body, ct.Param("boundary"), limits);
  if (!mp.ok()) return;
  SG_FUZZ_CHECK(mp->parts.size() <= limits.max_parts);
  for (std::string_view part : mp->parts) SG_FUZZ_CHECK(Inside(part, e->body));
}

void CheckCanonical(std::string_view msg, const MimeLimits& limits) {
  auto c = CanonicaliseEntity(msg, limits);
  if (!c.ok()) return;
  SG_FUZZ_CHECK(IsCrlfClean(*c));
  // A fixed point only for CRLF-clean input, which is all ingress accepts
  // (bare CR/LF are refused in DATA and BDAT): elsewhere a bare CR becomes a
  // line break the parse did not see (docs/security.md, "Fuzzing campaign").
  if (!IsCrlfClean(msg)) return;
  auto again = CanonicaliseEntity(*c, limits);
  SG_FUZZ_CHECK(again.ok());
  SG_FUZZ_CHECK_EQ(*again, *c);
}

void CheckSplit(std::string_view msg, const MimeLimits& limits) {
  for (bool encode : {false, true}) {
    auto whole = SplitForSmime(msg, encode, limits);
    auto outer = OuterHeadersForSmime(msg, limits);
    std::string entity;
    Status appended = AppendEntityForSmime(msg, encode, limits, entity);
    SG_FUZZ_CHECK(whole.ok() == appended.ok());
    if (!whole.ok()) continue;
    SG_FUZZ_CHECK(outer.ok() && *outer == whole->outer_headers);
    SG_FUZZ_CHECK(entity == whole->entity);
    SG_FUZZ_CHECK(IsCrlfClean(whole->outer_headers) && IsCrlfClean(whole->entity));
    if (!encode) {
      auto view = SplitForSmimeNoCopy(msg, limits);
      SG_FUZZ_CHECK(view.ok() && view->outer_headers == whole->outer_headers);
      SG_FUZZ_CHECK(view->entity_headers + std::string(view->body()) == whole->entity);
    } else if (IsCrlfClean(msg)) {
      auto canon = CanonicaliseEntity(whole->entity, limits);
      SG_FUZZ_CHECK(canon.ok());
      SG_FUZZ_CHECK_EQ(*canon, whole->entity);
    }
  }
}

// Header fields other than Subject, in order: names and unfolded values
// (a last field without its line end gets one when a Subject is inserted).
std::string FieldsWithoutSubject(const MimeEntity& e) {
  std::string out;
  for (const HeaderField& f : e.fields) {
    if (!NameIs(f.name, "Subject"))
      out.append(f.name).append(":").append(FieldValue(f)).append("\n");
  }
  return out;
}

void CheckTag(std::string_view msg, const MimeLimits& limits) {
  auto tagged = TagSubject(msg, "[secure]", limits);
  if (!tagged.ok()) return;
  auto before = ParseEntity(msg, limits);
  auto after = ParseEntity(*tagged, limits);
  SG_FUZZ_CHECK(before.ok() && after.ok());
  SG_FUZZ_CHECK_EQ(after->body, before->body);
  SG_FUZZ_CHECK_EQ(FieldsWithoutSubject(*after), FieldsWithoutSubject(*before));
  const HeaderField* subject = FindField(*after, "Subject");
  SG_FUZZ_CHECK(subject != nullptr && FieldValue(*subject).rfind("[secure]", 0) == 0);
  auto twice = TagSubject(*tagged, "[secure]", limits);
  SG_FUZZ_CHECK(twice.ok() && *twice == *tagged);
}

void CheckCodecs(std::string_view in) {
  std::string crlf = ToCrlf(in);
  SG_FUZZ_CHECK(IsCrlfClean(crlf));
  SG_FUZZ_CHECK(ToCrlf(crlf) == crlf);
  if (IsCrlfClean(in)) SG_FUZZ_CHECK(crlf == in);
  auto b64 = Base64Decode(Base64Encode(in));
  SG_FUZZ_CHECK(b64.ok() && *b64 == in);
  std::string qp = QpEncode(crlf);
  SG_FUZZ_CHECK(!NeedsTransportEncoding(qp));
  SG_FUZZ_CHECK(QpDecode(qp) == crlf);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const MimeLimits limits = Limits();
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  CheckParse(msg, limits);
  CheckCanonical(msg, limits);
  CheckSplit(msg, limits);
  CheckTag(msg, limits);
  if (size <= 4096) CheckCodecs(msg);
  return 0;
}
