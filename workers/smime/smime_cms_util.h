// Internal helpers shared by the engine's operation files (not a public API).
//
// RAII for CMS/BIO objects, DER <-> CMS, MIME assembly of S/MIME messages.
// Threading: pure functions; OpenSSL error queues are per thread.
#pragma once

#include <openssl/bio.h>
#include <openssl/cms.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "workers/smime/smime_mime.h"

namespace sg::smime::internal {

struct CmsFree {
  void operator()(CMS_ContentInfo* c) const { CMS_ContentInfo_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Read-only memory BIO over |data| (no copy; |data| must outlive the BIO).
BioPtr ReadBio(std::string_view data);
BioPtr WriteBio();
std::string_view BioContents(BIO* bio);

Result<std::string> CmsToDer(CMS_ContentInfo* cms);
// kCorruption for anything that is not a complete, well-formed ContentInfo.
Result<CmsPtr> CmsFromDer(std::string_view der);

// "----=_sg_" + 32 random hex digits, guaranteed absent from |content|.
std::string RandomBoundary(std::string_view content);

// Outer header fields of |top| (non-Content-*, no MIME-Version) as CRLF
// lines, then "MIME-Version: 1.0", then |entity| whose non-Content-* fields
// are kept unless the outer header already has them. The body bytes of
// |entity| are copied verbatim.
Result<std::string> JoinOuterAndEntity(const MimeEntity& top, std::string_view entity,
                                       const MimeLimits& limits);
// Appends top's outer fields (CRLF) to |out|.
void AppendOuterFields(const MimeEntity& top, std::string& out);

// Body of an application/pkcs7-* part decoded per its transfer encoding.
Result<std::string> DecodeCmsBody(const MimeEntity& part);

}  // namespace sg::smime::internal
