// Cheap classification of a message for the worker's dispatch.
//
// Purpose: decide from the top-level Content-Type alone (no CMS parsing)
// whether a message is S/MIME and which kind, so the worker routes it to
// Decrypt or Verify or passes it through. Threading: pure function.
#pragma once

#include <string_view>

#include "workers/smime/smime_mime.h"

namespace sg::smime {

enum class SmimeKind {
  kNone,            // not S/MIME at the top level
  kEnveloped,       // application/pkcs7-mime; smime-type=enveloped-data
  kAuthEnveloped,   // application/pkcs7-mime; smime-type=authEnveloped-data
  kSignedDetached,  // multipart/signed with a pkcs7-signature protocol
  kSignedOpaque,    // application/pkcs7-mime; smime-type=signed-data
  kCompressed,      // application/pkcs7-mime; smime-type=compressed-data
  kUnknownPkcs7,    // application/(x-)pkcs7-mime without a usable smime-type
};

SmimeKind DetectSmime(std::string_view message);

// application/pkcs7-mime, application/x-pkcs7-mime, or (old Outlook)
// application/octet-stream named *.p7m.
bool IsPkcs7Mime(const ContentType& ct);
std::string_view SmimeKindName(SmimeKind kind);

}  // namespace sg::smime
