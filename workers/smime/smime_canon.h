// Transport-safe canonical form of a message before it is signed or encrypted.
//
// Purpose: relays legitimately rewrite 8bit bodies (to QP or base64), re-fold
// long quoted-printable lines (Exchange, Apple Mail), strip trailing white
// space and escape "From " lines. Any of these breaks a signature over the
// original bytes. Before signing we therefore produce an entity that no relay
// has a reason to touch: CRLF line endings, 7-bit only, lines of at most 76
// characters, no trailing white space, no "From " line starts. Text parts
// become quoted-printable (still readable), everything else base64. Parts that
// are already signed (multipart/signed, application/pkcs7-mime) are copied
// verbatim apart from CRLF normalisation, as their signatures must not break.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "workers/smime/smime_mime.h"

namespace sg::smime {

// A message split for S/MIME: header fields that stay outside the
// cryptographic envelope, and the MIME entity (Content-* fields + body) that
// goes inside it.
struct OuterSplit {
  std::string outer_headers;  // non-Content-* fields except MIME-Version, CRLF-terminated
  std::string entity;         // Content-* fields, blank line, body; CRLF canonical
};

// Splits |message| into outer headers and entity. With |transport_encode| the
// entity is re-encoded as described above; without it only line endings are
// normalised. A missing Content-Type becomes an explicit text/plain.
Result<OuterSplit> SplitForSmime(std::string_view message, bool transport_encode,
                                 const MimeLimits& limits);

// SplitForSmime in two steps for callers that write the entity straight
// into their own output: the outer header lines (header block only, cheap),
// then the entity appended to |out|.
Result<std::string> OuterHeadersForSmime(std::string_view message, const MimeLimits& limits);
Status AppendEntityForSmime(std::string_view message, bool transport_encode,
                            const MimeLimits& limits, std::string& out);

// The split without transport encoding, without copying the body: the
// entity is entity_headers followed by body(). Encrypting an already signed
// message uses this, handing both pieces to the cipher in turn.
struct OuterSplitView {
  std::string outer_headers;   // as OuterSplit::outer_headers
  std::string entity_headers;  // Content-* fields and the blank line, CRLF
  std::string_view raw_body;   // the message's body when already CRLF-clean
  std::string crlf_body;       // otherwise its CRLF form
  bool converted = false;
  std::string_view body() const { return converted ? std::string_view(crlf_body) : raw_body; }
};
// |message| must outlive the result.
Result<OuterSplitView> SplitForSmimeNoCopy(std::string_view message, const MimeLimits& limits);

// Re-encodes one MIME entity (headers + body) recursively. Exposed for tests
// and for the QP re-folding relay simulation.
Result<std::string> CanonicaliseEntity(std::string_view entity, const MimeLimits& limits);

// True when canonical text would be altered by a relay (8-bit or NUL bytes,
// lines over 76 characters, trailing white space, "From " line starts).
bool NeedsTransportEncoding(std::string_view crlf_text);

}  // namespace sg::smime
