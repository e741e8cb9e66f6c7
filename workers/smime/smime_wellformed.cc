#include "workers/smime/smime_wellformed.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "common/ascii.h"
#include "common/mail/base64.h"

namespace sg::smime {
namespace {

Status Bad(const std::string& what) {
  return MakeError(ErrorCode::kCorruption, "decrypted content: " + what);
}

bool Is8Bit(char c) { return static_cast<unsigned char>(c) >= 0x80; }


bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
    } else if (c >= 0x80) {
      return false;  // a continuation byte or an invalid lead byte
    }
    if (i + n >= s.size() && n > 0) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

bool Utf8Charset(const ContentType& ct) {
  const std::string cs = AsciiLower(ct.Param("charset"));
  return cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii";
}

Status CheckQuotedPrintable(std::string_view body) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
  };
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (Is8Bit(c) || c == '\0') return Bad("8-bit byte in a quoted-printable body");
    if (c != '=') continue;
    std::string_view rest = body.substr(i + 1);
    size_t ws = 0;
    while (ws < rest.size() && (rest[ws] == ' ' || rest[ws] == '\t')) ++ws;
    if (ws < rest.size() && (rest[ws] == '\r' || rest[ws] == '\n')) continue;  // soft break
    if (rest.size() == ws) continue;  // "=" at the very end
    if (rest.size() < 2 || !hex(rest[0]) || !hex(rest[1])) return Bad("invalid =XX escape");
    i += 2;
  }
  return OkStatus();
}

// One branch-free pass over a body (the compiler vectorises it): bit 1 =
// an 8-bit byte, bit 2 = a control character other than TAB, CR, LF, FF.
unsigned ScanBody(std::string_view body) {
  unsigned high = 0;
  unsigned control = 0;
  for (char ch : body) {
    const auto c = static_cast<unsigned char>(ch);
    high |= c;
    control |= static_cast<unsigned>((c < 0x20) & (c != '\t') & (c != '\n') & (c != '\r') &
                                     (c != '\f'));
  }
  return ((high & 0x80) != 0 ? 1u : 0u) | (control != 0 ? 2u : 0u);
}

Status CheckLeafBody(const MimeEntity& e, const ContentType& ct) {
  const std::string cte = EntityTransferEncoding(e);
  if (cte == "base64") {
    if (!mail::Base64Wellformed(e.body)) return Bad("invalid base64 body");
    return OkStatus();
  }
  if (cte == "quoted-printable") return CheckQuotedPrintable(e.body);
  if (cte == "binary") return OkStatus();
  if (cte != "7bit" && cte != "8bit") return Bad("unknown Content-Transfer-Encoding " + cte);
  const unsigned flags = ScanBody(e.body);
  if ((flags & 2) != 0) return Bad("control character in a " + cte + " body");
  if ((flags & 1) == 0) return OkStatus();
  if (cte == "7bit" && !(ct.type == "text" && Utf8Charset(ct))) {
    return Bad("8-bit byte in a 7bit body");
  }
  if (ct.type == "text" && Utf8Charset(ct) && !ValidUtf8(e.body)) {
    return Bad("text that is not valid UTF-8");
  }
  return OkStatus();
}

Status CheckHeader(const MimeEntity& e) {
  if (!e.has_separator || e.fields.empty()) return Bad("no header block");
  for (char c : e.header_block) {
    if (c == '\0') return Bad("NUL in the header");
  }
  if (std::string dup = AmbiguousField(e); !dup.empty()) return Bad("ambiguous " + dup);
  return OkStatus();
}

Status Check(std::string_view bytes, const MimeLimits& limits, int depth, size_t& parts) {
  if (depth > limits.max_depth || ++parts > limits.max_parts) return Bad("nested too deeply");
  auto parsed = ParseEntity(bytes, limits);
  if (!parsed.ok()) return Bad(parsed.error().message);
  const MimeEntity& e = *parsed;
  SG_RETURN_IF_ERROR(CheckHeader(e));
  const ContentType ct = EntityContentType(e);
  if (ct.type != "multipart") return CheckLeafBody(e, ct);
  auto mp = SplitMultipart(e.body, ct.Param("boundary"), limits);
  if (!mp.ok()) return Bad(mp.error().message);
  if (!mp->closed || mp->parts.empty()) return Bad("multipart without its close delimiter");
  for (std::string_view part : mp->parts) {
    // A part may have no header at all (RFC 2046: text/plain by default).
    if (!part.empty() && part.front() != '\r' && part.front() != '\n') {
      SG_RETURN_IF_ERROR(Check(part, limits, depth + 1, parts));
    }
  }
  return OkStatus();
}

}  // namespace

Status CheckWellFormedEntity(std::string_view entity, const MimeLimits& limits) {
  size_t parts = 0;
  return Check(entity, limits, 0, parts);
}

}  // namespace sg::smime
