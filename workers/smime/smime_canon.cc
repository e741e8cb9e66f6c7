#include "workers/smime/smime_canon.h"

#include <algorithm>

namespace sg::smime {
namespace {

constexpr size_t kSafeLine = 76;

bool LongOrDirtyLines(std::string_view text, bool check_from) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find("\r\n", pos);
    size_t end = eol == std::string_view::npos ? text.size() : eol;
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > kSafeLine) return true;
    if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) return true;
    if (check_from && line.substr(0, 5) == "From ") return true;
    pos = eol == std::string_view::npos ? text.size() : eol + 2;
  }
  return false;
}

// Any byte >= 0x80 or NUL. Branch-free per 256-byte block (OR for the high
// bit, MIN for NUL both vectorise), so clean text costs ~0.1 ns/byte.
bool Has8Bit(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const size_t end = std::min(n, i + 256);
    unsigned char any = 0;
    unsigned char low = 0xFF;
    for (; i < end; ++i) {
      any |= p[i];
      low = std::min(low, p[i]);
    }
    if ((any & 0x80) != 0 || low == 0) return true;
  }
  return false;
}

void AppendLine(std::string& out, std::string_view raw) {
  out += ToCrlf(raw);
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
}

// Writes the header fields of |entity|, replacing Content-Transfer-Encoding
// with |new_cte| when that is not empty, then the blank separator line.
void WriteHeaders(const MimeEntity& entity, std::string_view new_cte, std::string& out) {
  for (const HeaderField& f : entity.fields) {
    if (!new_cte.empty() && NameIs(f.name, "Content-Transfer-Encoding")) continue;
    AppendLine(out, f.raw);
  }
  if (!new_cte.empty()) {
    out += "Content-Transfer-Encoding: ";
    out += new_cte;
    out += "\r\n";
  }
  out += "\r\n";
}

Status Canon(std::string_view bytes, int depth, const MimeLimits& limits, std::string& out);

Status CanonLeaf(const MimeEntity& entity, const ContentType& ct, const std::string& cte,
                 std::string& out) {
  bool text = ct.type == "text";
  if (cte == "binary") {
    std::string encoded = text ? QpEncode(ToCrlf(entity.body)) : Base64Encode(entity.body);
    WriteHeaders(entity, text ? "quoted-printable" : "base64", out);
    out += encoded;
    return OkStatus();
  }
  std::string converted;
  std::string_view body = entity.body;
  if (!IsCrlfClean(body)) {
    converted = ToCrlf(body);
    body = converted;
  }
  if (cte == "7bit" || cte == "8bit") {
    if (NeedsTransportEncoding(body)) {
      WriteHeaders(entity, text ? "quoted-printable" : "base64", out);
      out += text ? QpEncode(body) : Base64Encode(body);
    } else {
      WriteHeaders(entity, cte == "8bit" ? "7bit" : "", out);
      out += body;
    }
    return OkStatus();
  }
  if (cte == "quoted-printable") {
    WriteHeaders(entity, "", out);
    out += NeedsTransportEncoding(body) ? QpEncode(QpDecode(body)) : body;
    return OkStatus();
  }
  if (cte == "base64") {
    WriteHeaders(entity, "", out);
    if (LongOrDirtyLines(body, false) || Has8Bit(body)) {
      auto decoded = Base64Decode(body);
      if (decoded.ok()) {
        out += Base64Encode(*decoded);
        return OkStatus();
      }
    }
    out += body;
    return OkStatus();
  }
  // Unknown encodings (x-uuencode...) are left alone apart from line endings.
  WriteHeaders(entity, "", out);
  out += body;
  return OkStatus();
}

Status CanonParsed(const MimeEntity& entity, int depth, const MimeLimits& limits, std::string& out);

Status Canon(std::string_view bytes, int depth, const MimeLimits& limits, std::string& out) {
  if (depth > limits.max_depth) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "MIME: nesting deeper than " + std::to_string(limits.max_depth) + " levels");
  }
  SG_ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(bytes, limits));
  return CanonParsed(entity, depth, limits, out);
}

Status CanonParsed(const MimeEntity& entity, int depth, const MimeLimits& limits,
                   std::string& out) {
  ContentType ct = EntityContentType(entity);
  std::string cte = EntityTransferEncoding(entity);

  bool already_signed =
      (ct.type == "multipart" && ct.subtype == "signed") ||
      (ct.type == "application" && (ct.subtype == "pkcs7-mime" || ct.subtype == "x-pkcs7-mime"));
  if (already_signed) {  // its own signature must survive: normalise line endings only
    WriteHeaders(entity, "", out);
    if (IsCrlfClean(entity.body)) {
      out.append(entity.body);
    } else {
      out += ToCrlf(entity.body);
    }
    return OkStatus();
  }
  bool identity = cte == "7bit" || cte == "8bit" || cte == "binary";
  if (ct.type == "multipart" && identity) {
    SG_ASSIGN_OR_RETURN(Multipart mp, SplitMultipart(entity.body, ct.Param("boundary"), limits));
    const std::string delim = "--" + ct.Param("boundary");
    WriteHeaders(entity, cte == "7bit" ? "" : "7bit", out);
    if (mp.has_preamble) {
      out += ToCrlf(mp.preamble);
      out += "\r\n";
    }
    for (std::string_view part : mp.parts) {
      out += delim;
      out += "\r\n";
      SG_RETURN_IF_ERROR(Canon(part, depth + 1, limits, out));
      out += "\r\n";
    }
    out += delim;
    out += "--";
    if (mp.has_epilogue) {
      out += "\r\n";
      out += ToCrlf(mp.epilogue);
    }
    return OkStatus();
  }
  if (ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global") && identity) {
    WriteHeaders(entity, cte == "7bit" ? "" : "7bit", out);
    return Canon(entity.body, depth + 1, limits, out);
  }
  return CanonLeaf(entity, ct, cte, out);
}

}  // namespace

bool NeedsTransportEncoding(std::string_view crlf_text) {
  return Has8Bit(crlf_text) || LongOrDirtyLines(crlf_text, true);
}

Result<std::string> CanonicaliseEntity(std::string_view entity, const MimeLimits& limits) {
  std::string out;
  out.reserve(entity.size() + entity.size() / 16);
  SG_RETURN_IF_ERROR(Canon(entity, 0, limits, out));
  return out;
}

namespace {

// Outer header lines and the entity's header block (Content-* fields, an
// explicit text/plain when there is none, the blank line).
void SplitHeaders(const MimeEntity& top, std::string& outer_headers,
                  std::string& entity_headers) {
  bool has_type = false;
  for (const HeaderField& f : top.fields) {
    if (IsContentField(f.name)) {
      has_type = has_type || NameIs(f.name, "Content-Type");
      AppendLine(entity_headers, f.raw);
    } else if (!NameIs(f.name, "MIME-Version")) {
      AppendLine(outer_headers, f.raw);
    }
  }
  if (!has_type) {
    entity_headers.insert(0, Has8Bit(top.body) ? "Content-Type: text/plain; charset=utf-8\r\n"
                                               : "Content-Type: text/plain; charset=us-ascii\r\n");
  }
  entity_headers += "\r\n";
}

}  // namespace

Result<OuterSplitView> SplitForSmimeNoCopy(std::string_view message, const MimeLimits& limits) {
  SG_ASSIGN_OR_RETURN(MimeEntity top, ParseEntity(message, limits));
  OuterSplitView split;
  SplitHeaders(top, split.outer_headers, split.entity_headers);
  if (IsCrlfClean(top.body)) {
    split.raw_body = top.body;
  } else {
    split.crlf_body = ToCrlf(top.body);
    split.converted = true;
  }
  return split;
}

Result<std::string> OuterHeadersForSmime(std::string_view message, const MimeLimits& limits) {
  SG_ASSIGN_OR_RETURN(MimeEntity top, ParseEntity(message, limits));
  std::string outer_headers;
  for (const HeaderField& f : top.fields) {
    if (!IsContentField(f.name) && !NameIs(f.name, "MIME-Version")) AppendLine(outer_headers, f.raw);
  }
  return outer_headers;
}

Status AppendEntityForSmime(std::string_view message, bool transport_encode,
                            const MimeLimits& limits, std::string& out) {
  SG_ASSIGN_OR_RETURN(MimeEntity top, ParseEntity(message, limits));
  std::string outer_headers;
  std::string entity_headers;
  SplitHeaders(top, outer_headers, entity_headers);
  if (!transport_encode) {
    out += entity_headers;
    if (IsCrlfClean(top.body)) {
      out.append(top.body);
    } else {
      out += ToCrlf(top.body);
    }
    return OkStatus();
  }
  SG_ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(entity_headers, limits));
  entity.body = top.body;
  entity.has_separator = true;
  return CanonParsed(entity, 0, limits, out);
}

Result<OuterSplit> SplitForSmime(std::string_view message, bool transport_encode,
                                 const MimeLimits& limits) {
  if (!transport_encode) {
    SG_ASSIGN_OR_RETURN(OuterSplitView view, SplitForSmimeNoCopy(message, limits));
    OuterSplit split;
    split.outer_headers = std::move(view.outer_headers);
    split.entity = std::move(view.entity_headers);
    split.entity.reserve(split.entity.size() + view.body().size());
    split.entity.append(view.body());
    return split;
  }
  SG_ASSIGN_OR_RETURN(MimeEntity top, ParseEntity(message, limits));
  OuterSplit split;
  std::string entity_headers;
  SplitHeaders(top, split.outer_headers, entity_headers);
  // Parse the rebuilt header block and point the body at the original
  // bytes: the body is copied once, into the canonical output.
  SG_ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(entity_headers, limits));
  entity.body = top.body;
  entity.has_separator = true;
  split.entity.reserve(entity_headers.size() + top.body.size() + top.body.size() / 16);
  SG_RETURN_IF_ERROR(CanonParsed(entity, 0, limits, split.entity));
  return split;
}

}  // namespace sg::smime
