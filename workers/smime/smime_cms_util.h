// Internal helpers shared by the engine's operation files (not a public API).
//
// RAII for CMS/BIO objects, DER <-> CMS, MIME assembly of S/MIME messages.
// Threading: pure functions; OpenSSL error queues are per thread.
#pragma once

#include <openssl/bio.h>
#include <openssl/cms.h>

#include <memory>
#include <span>
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
// A write memory BIO whose buffer already holds |reserve| bytes: OpenSSL's
// mem BIO otherwise grows by 4/3 with a clearing realloc (copy + cleanse of
// everything so far) each time, several full passes over a large output.
BioPtr WriteBio(size_t reserve);
std::string_view BioContents(BIO* bio);

Result<std::string> CmsToDer(CMS_ContentInfo* cms);

// DER in OpenSSL's own buffer (i2d output), for callers that only read it
// once (base64): saves a copy of the whole structure.
struct OsslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
struct DerBuffer {
  std::unique_ptr<unsigned char, OsslFree> data;
  size_t size = 0;
  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(data.get()), size);
  }
};
Result<DerBuffer> CmsToDerBuffer(CMS_ContentInfo* cms);

// CMS_final for enveloped / authEnveloped data with embedded content:
// encrypts |content| into a pre-sized buffer that the ContentInfo then owns
// (CMS_final's own memory BIO regrows and cleanses as it fills).
// The content is the concatenation of |pieces|.
Status CmsFinalEmbedded(CMS_ContentInfo* cms, std::span<const std::string_view> pieces);
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
