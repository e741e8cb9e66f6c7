// Header protection (RFC 9788): policy_header_protection.h.
#include "workers/policy/policy_header_protection.h"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "common/ascii.h"
#include "workers/policy/policy_subject.h"

namespace sg::workers {
namespace {

using smime::FieldValue;
using smime::MimeEntity;
using smime::MimeLimits;
using smime::NameIs;

constexpr std::array<std::string_view, 10> kProtected = {
    "Subject",    "From",     "To",          "Cc",          "Date",
    "Message-ID", "Reply-To", "Followup-To", "In-Reply-To", "References"};
constexpr std::string_view kHpOuter = "HP-Outer";
constexpr std::string_view kLegacyParam = "hp-legacy-display";
constexpr std::string_view kLegacyClass = "header-protection-legacy-display";
constexpr int kMaxDepth = 8;

std::string Lower(std::string_view s) { return AsciiLower(s); }

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The main body parts (RFC 9787 section 7.1) of |entity|, a view into the
// message: the first child of each multipart, every child of
// multipart/alternative, text/plain or text/html leaves not marked as
// attachments.
void MainBodyParts(std::string_view entity, const MimeLimits& limits, int depth,
                   std::vector<std::string_view>& out) {
  auto e = smime::ParseEntity(entity, limits);
  if (!e.ok() || depth > kMaxDepth) return;
  const smime::ContentType ct = smime::EntityContentType(*e);
  if (ct.type == "multipart") {
    const std::string boundary = ct.Param("boundary");
    if (boundary.empty()) return;
    auto mp = smime::SplitMultipart(e->body, boundary, limits);
    if (!mp.ok() || mp->parts.empty()) return;
    if (ct.subtype == "alternative") {
      for (std::string_view p : mp->parts) MainBodyParts(p, limits, depth + 1, out);
    } else {
      MainBodyParts(mp->parts.front(), limits, depth + 1, out);
    }
    return;
  }
  if (ct.type != "text" || (ct.subtype != "plain" && ct.subtype != "html")) return;
  if (const auto* d = smime::FindField(*e, "Content-Disposition");
      d != nullptr && Lower(FieldValue(*d)).starts_with("attachment")) {
    return;
  }
  out.push_back(entity);
}

// Replaces each main body part of |message| by what |edit| makes of it
// (nullopt: unchanged). Returns whether any part changed.
using PartEdit = std::function<std::optional<std::string>(std::string_view part)>;
bool EditMainBodyParts(std::string& message, const MimeLimits& limits, const PartEdit& edit) {
  std::vector<std::string_view> parts;
  MainBodyParts(message, limits, 0, parts);
  std::vector<std::pair<size_t, std::pair<size_t, std::string>>> splices;
  for (std::string_view p : parts) {
    if (auto replaced = edit(p)) {
      splices.push_back(
          {static_cast<size_t>(p.data() - message.data()), {p.size(), std::move(*replaced)}});
    }
  }
  // From the back, so the earlier offsets stay valid.
  std::sort(splices.begin(), splices.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [at, s] : splices) message.replace(at, s.first, s.second);
  return !splices.empty();
}

// A text part's body decoded per its transfer encoding; nullopt for
// encodings we do not rewrite.
std::optional<std::string> DecodeText(const MimeEntity& e) {
  const std::string cte = smime::EntityTransferEncoding(e);
  if (cte == "7bit" || cte == "8bit" || cte == "binary") return std::string(e.body);
  if (cte == "quoted-printable") return smime::QpDecode(e.body);
  if (cte == "base64") {
    auto d = smime::Base64Decode(e.body);
    if (d.ok()) return std::move(d).value();
  }
  return std::nullopt;
}

// |text| encoded as |e|'s body was; base64 lines end as the old body did
// (the line break before a boundary belongs to the delimiter).
std::string EncodeText(const MimeEntity& e, std::string_view text) {
  const std::string cte = smime::EntityTransferEncoding(e);
  if (cte == "quoted-printable") return smime::QpEncode(smime::ToCrlf(text));
  if (cte != "base64") return std::string(text);
  std::string out = smime::Base64Encode(text);
  if (!e.body.ends_with('\n') && out.ends_with("\r\n")) out.resize(out.size() - 2);
  return out;
}

// |part| with its Content-Type value and body replaced.
std::optional<std::string> RebuildPart(std::string_view part, const std::string& content_type,
                                       std::string_view body, const MimeLimits& limits) {
  auto rewritten = smime::RewriteFields(part, {{"Content-Type", {content_type}, true}}, limits);
  if (!rewritten.ok()) return std::nullopt;
  auto e = smime::ParseEntity(*rewritten, limits);
  if (!e.ok() || !e->has_separator) return std::nullopt;
  std::string out = rewritten->substr(0, static_cast<size_t>(e->body.data() - rewritten->data()));
  out += body;
  return out;
}

std::string ContentTypeValue(const MimeEntity& e) {
  const auto* f = smime::FindField(e, "Content-Type");
  return f != nullptr ? FieldValue(*f) : std::string("text/plain; charset=us-ascii");
}

// |value| without the parameter |name| (case-insensitive).
std::string WithoutParam(const std::string& value, std::string_view name) {
  const std::string lower = Lower(value);
  size_t at = 0;
  while ((at = lower.find(name, at)) != std::string::npos) {
    size_t semi = lower.rfind(';', at);
    const bool starts = semi != std::string::npos &&
                        AsciiTrim(std::string_view(lower).substr(semi + 1, at - semi - 1)).empty();
    size_t eq = lower.find_first_not_of(" \t", at + name.size());
    if (!starts || eq == std::string::npos || lower[eq] != '=') {
      at += name.size();
      continue;
    }
    size_t end = lower.find(';', eq);
    if (end == std::string::npos) end = lower.size();
    return value.substr(0, semi) + value.substr(end);
  }
  return value;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

// RFC 9788 section 4.5.2.2: the legacy display element at the start of a
// main body part (text/plain: "Subject: ..." and a blank line; text/html: a
// div of class header-protection-legacy-display).
std::optional<std::string> AddLegacyDisplay(std::string_view part, const std::string& raw_subject,
                                            const MimeLimits& limits) {
  auto e = smime::ParseEntity(part, limits);
  if (!e.ok()) return std::nullopt;
  const smime::ContentType ct = smime::EntityContentType(*e);
  if (ct.params.count(std::string(kLegacyParam)) != 0) return std::nullopt;
  auto text = DecodeText(*e);
  if (!text) return std::nullopt;
  std::string shown = DecodeHeaderText(raw_subject);
  const std::string charset = Lower(ct.Param("charset"));
  if (!IsAscii(shown) && charset != "utf-8") shown = raw_subject;  // encoded words as written
  std::string body;
  if (ct.subtype == "html") {
    const std::string element = "<div class=\"" + std::string(kLegacyClass) +
                                "\"><pre>Subject: " + HtmlEscape(shown) + "</pre></div>\r\n";
    const std::string lower = Lower(*text);
    const size_t open = lower.find("<body");
    const size_t close = open == std::string::npos ? open : lower.find('>', open);
    const size_t at = close == std::string::npos ? 0 : close + 1;
    body = text->substr(0, at) + element + text->substr(at);
  } else {
    body = "Subject: " + shown + "\r\n\r\n" + *text;
  }
  return RebuildPart(part, ContentTypeValue(*e) + "; " + std::string(kLegacyParam) + "=\"1\"",
                     EncodeText(*e, body), limits);
}

// RFC 9788 section 4.5.3: the element removed again by the receiving side.
std::optional<std::string> RemoveLegacyDisplay(std::string_view part, const MimeLimits& limits) {
  auto e = smime::ParseEntity(part, limits);
  if (!e.ok()) return std::nullopt;
  const smime::ContentType ct = smime::EntityContentType(*e);
  if (ct.Param(std::string(kLegacyParam)) != "1") return std::nullopt;
  auto text = DecodeText(*e);
  if (!text) return std::nullopt;
  std::string body;
  if (ct.subtype == "html") {
    const std::string lower = Lower(*text);
    const size_t div = lower.find(std::string(kLegacyClass));
    const size_t start = div == std::string::npos ? div : lower.rfind("<div", div);
    const size_t end = start == std::string::npos ? start : lower.find("</div>", div);
    if (end == std::string::npos) return std::nullopt;
    size_t cut = end + 6;
    if (text->compare(cut, 2, "\r\n") == 0)
      cut += 2;
    else if (text->compare(cut, 1, "\n") == 0)
      cut += 1;
    body = text->substr(0, start) + text->substr(cut);
  } else {
    // Every line up to and including the first blank one.
    size_t pos = 0;
    std::optional<size_t> cut;
    while (pos < text->size()) {
      size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) break;
      std::string_view line = std::string_view(*text).substr(pos, nl - pos);
      if (line.empty() || line == "\r") {
        cut = nl + 1;
        break;
      }
      pos = nl + 1;
    }
    if (!cut) return std::nullopt;
    body = text->substr(*cut);
  }
  return RebuildPart(part, WithoutParam(ContentTypeValue(*e), kLegacyParam), EncodeText(*e, body),
                     limits);
}

}  // namespace

bool IsProtectedField(std::string_view name) {
  return std::any_of(kProtected.begin(), kProtected.end(),
                     [name](std::string_view p) { return NameIs(name, p); });
}

Result<ProtectedMessage> ProtectHeaders(std::string_view message, HpMode mode, bool obscure_subject,
                                        const MimeLimits& limits) {
  SG_ASSIGN_OR_RETURN(MimeEntity top, smime::ParseEntity(message, limits));
  ProtectedMessage out;
  const smime::ContentType ct = smime::EntityContentType(top);
  if (ct.params.count("hp") != 0) {  // protected by the sender's client already
    out.message = std::string(message);
    return out;
  }
  const bool cipher = mode == HpMode::kCipher;
  const bool obscure = cipher && obscure_subject;
  std::string outer_record;
  std::optional<std::string> subject;
  for (const auto& f : top.fields) {
    if (!IsProtectedField(f.name)) continue;
    std::string line = smime::ToCrlf(f.raw);
    if (!line.ends_with("\r\n")) line += "\r\n";
    out.inner_headers += line;
    const bool is_subject = NameIs(f.name, "Subject");
    if (is_subject && !subject) subject = FieldValue(f);
    if (cipher) {
      outer_record += std::string(kHpOuter) + ": " + std::string(f.name) + ": " +
                      (is_subject && obscure ? std::string(kObscuredSubject) : FieldValue(f)) +
                      "\r\n";
    }
  }
  out.inner_headers += outer_record;
  out.message = std::string(message);
  if (obscure && subject) {
    out.legacy_display = EditMainBodyParts(out.message, limits, [&](std::string_view part) {
      return AddLegacyDisplay(part, *subject, limits);
    });
  }
  // The root's Content-Type after the legacy display (which may have added
  // its own parameter to it).
  SG_ASSIGN_OR_RETURN(MimeEntity root, smime::ParseEntity(out.message, limits));
  std::vector<smime::FieldEdit> edits;
  edits.push_back({"Content-Type",
                   {ContentTypeValue(root) + (cipher ? "; hp=\"cipher\"" : "; hp=\"clear\"")},
                   true});
  if (obscure && subject) edits.push_back({"Subject", {std::string(kObscuredSubject)}, true});
  SG_ASSIGN_OR_RETURN(out.message, smime::RewriteFields(out.message, edits, limits));
  return out;
}

std::string_view HpRestoreName(HpRestore r) {
  switch (r) {
    case HpRestore::kNone:
      return "none";
    case HpRestore::kRestored:
      return "restored";
    case HpRestore::kSpoofed:
      return "spoofed";
    case HpRestore::kMalformed:
      return "malformed";
  }
  return "unknown";
}

namespace {

// The two schemes that put protected header fields on the cryptographic
// payload: RFC 9788 (hp="cipher" / hp="clear") and the earlier draft
// (draft-autocrypt-lamps-protected-headers, protected-headers="v1"), which
// Thunderbird and the autocrypt example messages use.
enum class Scheme { kRfc9788, kV1 };

// Where the cryptographic payload's header fields are: the decrypted
// entity's own header block, the header block under an opaque signature, or
// the first part of a multipart/signed.
struct Payload {
  std::vector<smime::HeaderField> fields;
  Scheme scheme = Scheme::kRfc9788;
  std::string value;  // lower-case hp / protected-headers value ("v1" when implied)
  bool under_signature = false;
  std::string block;  // owns the bytes |fields| point into (header block cases)
};

constexpr std::string_view kV1Param = "protected-headers";

// The v1 legacy display part (draft-autocrypt-lamps-protected-headers
// section "Legacy Display"): text/rfc822-headers (or text/plain, as some
// clients write it) with protected-headers="v1", not an attachment.
bool IsV1LegacyDisplay(std::string_view part, const MimeLimits& limits) {
  auto e = smime::ParseEntity(part, limits);
  if (!e.ok()) return false;
  const smime::ContentType ct = smime::EntityContentType(*e);
  if (ct.type != "text" || (ct.subtype != "rfc822-headers" && ct.subtype != "plain")) return false;
  if (Lower(ct.Param(std::string(kV1Param))) != "v1") return false;
  const auto* d = smime::FindField(*e, "Content-Disposition");
  return d == nullptr || Lower(FieldValue(*d)).starts_with("inline");
}

// |entity| is a multipart/mixed whose first part is a v1 legacy display
// (with at least one part after it); its parts then.
std::optional<smime::Multipart> V1LegacyWrapper(const MimeEntity& entity,
                                                const MimeLimits& limits) {
  const smime::ContentType ct = smime::EntityContentType(entity);
  if (ct.Mime() != "multipart/mixed" || ct.Param("boundary").empty()) return std::nullopt;
  auto mp = smime::SplitMultipart(entity.body, ct.Param("boundary"), limits);
  if (!mp.ok() || mp->parts.size() < 2 || !IsV1LegacyDisplay(mp->parts.front(), limits)) {
    return std::nullopt;
  }
  return std::move(mp).value();
}

// Which scheme |e| (the payload's header, |body| its body when known)
// declares. The RFC's hp parameter, else the draft's protected-headers
// parameter. Inside an encryption layer the draft needs no parameter: the
// header fields of the payload are the protected ones, so a payload there
// that carries a From field or starts with a legacy display part (the
// autocrypt smime-* examples mark nothing else) is v1 too. Signed-only
// payloads without a parameter are not read (their header fields are
// usually MIME only, and nothing outside was hidden).
bool ClassifyPayload(const MimeEntity& e, bool encrypted, const MimeEntity* body,
                     const MimeLimits& limits, Payload& p) {
  const smime::ContentType ct = smime::EntityContentType(e);
  if (ct.params.count("hp") != 0) {
    p.scheme = Scheme::kRfc9788;
    p.value = Lower(ct.Param("hp"));
  } else if (ct.params.count(std::string(kV1Param)) != 0) {
    p.scheme = Scheme::kV1;
    p.value = Lower(ct.Param(std::string(kV1Param)));
  } else if (encrypted && (smime::FindField(e, "From") != nullptr ||
                           (body != nullptr && V1LegacyWrapper(*body, limits)))) {
    p.scheme = Scheme::kV1;
    p.value = "v1";
  } else {
    return false;
  }
  p.fields = e.fields;
  return true;
}

// The payload when |header| (a header block as it came out of the CMS)
// declares protected headers; |body|: the entity the block heads, when the
// form holds it.
std::optional<Payload> FromHeaderBlock(std::string_view header, bool under_signature,
                                       bool encrypted, const MimeEntity* body,
                                       const MimeLimits& limits) {
  if (header.empty()) return std::nullopt;
  Payload p;
  p.block = smime::ToCrlf(header);
  if (!p.block.ends_with("\r\n")) p.block += "\r\n";
  p.block += "\r\n";
  auto e = smime::ParseEntity(p.block, limits);
  if (!e.ok() || !ClassifyPayload(*e, encrypted, body, limits, p)) return std::nullopt;
  p.under_signature = under_signature;
  return p;
}

// |encrypted|: the form came out of a decryption (the payload, wherever it
// is, was inside an encryption layer).
std::optional<Payload> FindPayload(const MimeEntity& top, std::string_view decrypted_header,
                                   std::string_view signed_header, const MimeLimits& limits) {
  const bool encrypted = !decrypted_header.empty();
  if (auto p = FromHeaderBlock(decrypted_header, false, encrypted, &top, limits)) return p;
  if (auto p = FromHeaderBlock(signed_header, true, encrypted, nullptr, limits)) return p;
  const smime::ContentType ct = smime::EntityContentType(top);
  if (ct.Mime() != "multipart/signed") return std::nullopt;
  auto mp = smime::SplitMultipart(top.body, ct.Param("boundary"), limits);
  if (!mp.ok() || mp->parts.empty()) return std::nullopt;
  auto e = smime::ParseEntity(mp->parts.front(), limits);
  if (!e.ok()) return std::nullopt;
  Payload p;
  if (!ClassifyPayload(*e, encrypted, &*e, limits, p)) return std::nullopt;
  p.under_signature = true;
  return p;
}

// Removes the v1 legacy display part from |message| (the decrypted payload
// at the top): the first part of the multipart/mixed goes; when one part
// is left, that part takes the wrapper's place (its Content-* fields become
// the top-level ones, its body the body). nullopt: no legacy display part
// (or a structure we do not rewrite).
std::optional<std::string> RemoveV1LegacyDisplay(const std::string& message,
                                                 const MimeLimits& limits) {
  auto top = smime::ParseEntity(message, limits);
  if (!top.ok()) return std::nullopt;
  auto mp = V1LegacyWrapper(*top, limits);
  if (!mp) return std::nullopt;
  if (mp->parts.size() > 2) {
    // From the legacy part up to the next part: its bytes and the delimiter
    // line after it; the delimiter before it now opens the next part.
    const auto from = static_cast<size_t>(mp->parts[0].data() - message.data());
    const auto to = static_cast<size_t>(mp->parts[1].data() - message.data());
    return message.substr(0, from) + message.substr(to);
  }
  auto part = smime::ParseEntity(mp->parts[1], limits);
  if (!part.ok() || !part->has_separator) return std::nullopt;
  std::vector<smime::FieldEdit> edits;
  auto edit_for = [&](std::string_view name) -> smime::FieldEdit& {
    for (auto& e : edits) {
      if (NameIs(e.name, name)) return e;
    }
    edits.push_back({name, {}, true});
    return edits.back();
  };
  for (const auto& f : top->fields) {
    if (Lower(f.name).starts_with("content-")) edit_for(f.name);
  }
  for (const auto& f : part->fields) {
    if (Lower(f.name).starts_with("content-")) edit_for(f.name).values.push_back(FieldValue(f));
  }
  const std::string body(part->body);
  auto rewritten = smime::RewriteFields(message, edits, limits);
  if (!rewritten.ok()) return std::nullopt;
  auto head = smime::ParseEntity(*rewritten, limits);
  if (!head.ok() || !head->has_separator) return std::nullopt;
  return rewritten->substr(0, static_cast<size_t>(head->body.data() - rewritten->data())) + body;
}

const smime::HeaderField* First(const std::vector<smime::HeaderField>& fields,
                                std::string_view name, size_t* count = nullptr) {
  const smime::HeaderField* first = nullptr;
  size_t n = 0;
  for (const auto& f : fields) {
    if (!NameIs(f.name, name)) continue;
    if (first == nullptr) first = &f;
    ++n;
  }
  if (count != nullptr) *count = n;
  return first;
}

}  // namespace

RestoredMessage RestoreHeaders(std::string_view form, std::string_view decrypted_header,
                               const MimeLimits& limits, std::string_view signed_header) {
  RestoredMessage r;
  r.message = std::string(form);
  auto top = smime::ParseEntity(form, limits);
  if (!top.ok()) return r;
  auto payload = FindPayload(*top, decrypted_header, signed_header, limits);
  if (!payload) return r;
  const bool v1 = payload->scheme == Scheme::kV1;
  const std::string declared =
      std::string(v1 ? kV1Param : std::string_view("hp")) + "=\"" + payload->value + "\"";
  size_t froms = 0, subjects = 0;
  const smime::HeaderField* inner_from = First(payload->fields, "From", &froms);
  First(payload->fields, "Subject", &subjects);
  const bool known =
      v1 ? payload->value == "v1" : (payload->value == "cipher" || payload->value == "clear");
  if (!known || inner_from == nullptr || froms != 1 || subjects > 1) {
    r.result = HpRestore::kMalformed;
    r.detail = declared + " payload " +
               (known ? "without exactly one From (or with two Subjects)" : "of an unknown version");
    return r;
  }
  const smime::HeaderField* outer_from = First(top->fields, "From");
  const std::string inner_box = smime::FirstMailbox(FieldValue(*inner_from));
  const std::string outer_box = outer_from ? smime::FirstMailbox(FieldValue(*outer_from)) : "";
  if (inner_box.empty() || inner_box != outer_box) {
    r.result = HpRestore::kSpoofed;
    r.detail = "protected From <" + inner_box + "> is not the outer From <" + outer_box + ">";
    return r;
  }
  std::string message(form);
  if (!payload->under_signature && v1) {
    if (auto removed = RemoveV1LegacyDisplay(message, limits)) {
      message = std::move(*removed);
      r.legacy_removed = true;
    }
  } else if (!payload->under_signature && payload->value == "cipher") {
    r.legacy_removed = EditMainBodyParts(
        message, limits, [&](std::string_view part) { return RemoveLegacyDisplay(part, limits); });
  }
  std::vector<smime::FieldEdit> edits;
  for (std::string_view name : kProtected) {
    smime::FieldEdit edit{name, {}, true};
    for (const auto& f : payload->fields) {
      if (NameIs(f.name, name)) edit.values.push_back(FieldValue(f));
    }
    // A field only outside is not the author's (RFC 9788 section 4): an
    // added Cc must not reach the reader. Date and Message-ID are kept, as
    // transports add them.
    const bool keep_outer = name == "Date" || name == "Message-ID";
    if (edit.values.empty() && (keep_outer || First(top->fields, name) == nullptr)) continue;
    edits.push_back(std::move(edit));
  }
  edits.push_back({kHpOuter, {}, true});
  auto rewritten = smime::RewriteFields(message, edits, limits);
  if (!rewritten.ok()) {
    r.result = HpRestore::kMalformed;
    r.detail = rewritten.error().message;
    return r;
  }
  r.message = std::move(rewritten).value();
  r.result = HpRestore::kRestored;
  r.detail = declared;
  return r;
}

}  // namespace sg::workers
