#include "workers/smime/smime_detect.h"

#include <cctype>
#include <string>

#include "common/ascii.h"
#include "workers/smime/smime_mime.h"

namespace sg::smime {

SmimeKind DetectSmime(std::string_view message) {
  MimeLimits limits;
  auto entity = ParseEntity(message, limits);
  if (!entity.ok()) return SmimeKind::kNone;
  ContentType ct = EntityContentType(*entity);
  if (ct.type == "multipart" && ct.subtype == "signed") {
    std::string protocol = ct.Param("protocol");
    AsciiLowerInPlace(protocol);
    if (protocol == "application/pkcs7-signature" || protocol == "application/x-pkcs7-signature") {
      return SmimeKind::kSignedDetached;
    }
    return SmimeKind::kNone;  // e.g. PGP/MIME
  }
  if (!IsPkcs7Mime(ct)) return SmimeKind::kNone;
  std::string st = ct.Param("smime-type");
  AsciiLowerInPlace(st);
  if (st == "enveloped-data") return SmimeKind::kEnveloped;
  if (st == "authenveloped-data") return SmimeKind::kAuthEnveloped;
  if (st == "signed-data") return SmimeKind::kSignedOpaque;
  if (st == "compressed-data") return SmimeKind::kCompressed;
  return SmimeKind::kUnknownPkcs7;  // old clients omit smime-type: the CMS content type decides
}

bool IsPkcs7Mime(const ContentType& ct) {
  if (ct.type != "application") return false;
  if (ct.subtype == "pkcs7-mime" || ct.subtype == "x-pkcs7-mime") return true;
  if (ct.subtype != "octet-stream") return false;
  std::string name = ct.Param("name");
  AsciiLowerInPlace(name);
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".p7m") == 0;
}

std::string_view SmimeKindName(SmimeKind kind) {
  switch (kind) {
    case SmimeKind::kNone:
      return "none";
    case SmimeKind::kEnveloped:
      return "enveloped";
    case SmimeKind::kAuthEnveloped:
      return "auth_enveloped";
    case SmimeKind::kSignedDetached:
      return "signed_detached";
    case SmimeKind::kSignedOpaque:
      return "signed_opaque";
    case SmimeKind::kCompressed:
      return "compressed";
    case SmimeKind::kUnknownPkcs7:
      return "unknown_pkcs7";
  }
  return "none";
}

}  // namespace sg::smime
