// Header protection (RFC 9788) for the gateway's own S/MIME layers.
//
// Outbound, ProtectHeaders prepares a message before the engine signs or
// encrypts it: the protected header fields (Subject, From, To, Cc, Date,
// Message-ID, Reply-To, Followup-To, In-Reply-To, References) are copied
// into the cryptographic payload (returned as `inner_headers` for
// SignOptions / EncryptOptions::inner_headers), its Content-Type gets
// hp="cipher" (encrypted) or hp="clear" (signed only), encrypted payloads
// record the outer values as HP-Outer fields, and when the outer Subject is
// obscured ("[...]") the main body parts start with a legacy display
// element (hp-legacy-display="1") showing the real Subject to clients
// without RFC 9788 support.
//
// Inbound, RestoreHeaders turns a delivered form whose cryptographic
// payload carries protected headers into what a client without RFC 9788
// support shows correctly: the protected fields replace the outer ones, the
// HP-Outer fields leave the top-level header, and (where the payload is not
// under a signature that must stay valid) the legacy display element is
// removed from the main body parts. A payload whose protected From names
// another mailbox than the outer From is a spoofing attempt: nothing is
// restored (the outer From, which the gateway's checks used, stays).
//
// The earlier draft scheme (draft-autocrypt-lamps-protected-headers,
// protected-headers="v1", written by Thunderbird) is restored inbound by the
// same path: a payload is v1 when its Content-Type carries
// protected-headers="v1", or, inside an encryption layer, when it carries a
// From field or begins with a v1 legacy display part (the first part of a
// multipart/mixed, text/rfc822-headers with protected-headers="v1"). That
// part is removed when the payload is not under a signature; a wrapper left
// with one part is replaced by that part.
//
// Errors: RestoreHeaders never fails the message: a malformed payload
// yields HpRestore::kMalformed and the form unchanged, so the caller
// delivers it with unprotected handling (note + metric).
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "workers/smime/smime_mime.h"

namespace sg::workers {

enum class HpMode { kClear, kCipher };

// The fields RFC 9788 protects that a reader sees (RFC 9787 section 1.1.2),
// in the order the check walks them.
bool IsProtectedField(std::string_view name);

// What the outer Subject of an encrypted message becomes when obscured
// (RFC 9788's baseline header confidentiality policy).
inline constexpr std::string_view kObscuredSubject = "[...]";

struct ProtectedMessage {
  // The message to sign / encrypt: hp on the Content-Type, the outer
  // Subject obscured when asked, the legacy display in the main body parts.
  std::string message;
  // For SignOptions / EncryptOptions::inner_headers (CRLF lines).
  std::string inner_headers;
  bool legacy_display = false;  // a legacy display element was written
};

// |obscure_subject| applies to kCipher only (a signed-only message hides
// nothing). kInvalidArgument when the message cannot be parsed.
Result<ProtectedMessage> ProtectHeaders(std::string_view message, HpMode mode, bool obscure_subject,
                                        const smime::MimeLimits& limits);

enum class HpRestore {
  kNone,       // no protected headers (no hp / protected-headers="v1" payload)
  kRestored,   // protected fields restored to the top level
  kSpoofed,    // the protected From disagrees with the outer From: not restored
  kMalformed,  // hp payload that cannot be read (no From, unparsable): not restored
};
std::string_view HpRestoreName(HpRestore r);

struct RestoredMessage {
  HpRestore result = HpRestore::kNone;
  std::string message;          // the form to deliver (unchanged unless kRestored)
  std::string detail;           // for the log line
  bool legacy_removed = false;  // a legacy display element was removed
};

// |form| is what the inbound policy would deliver (outer headers + the
// content under the deepest decrypted layer, or the message as received).
// |decrypted_header| is the header block of the deepest decrypted entity
// as it came out of the CMS (empty when nothing was decrypted): the engine
// merges it with the outer header, where the outer values win.
// |signed_header| is the header block of the entity under an opaque
// signature (smime-type=signed-data) at the top of |form| (empty when
// none). The payload (the first with an hp parameter) is the decrypted
// entity, else the entity under the opaque signature, else the first part
// of a multipart/signed at the top of |form|. Outbound the gateway writes
// RFC 9788 only; v1 is read, never written.
RestoredMessage RestoreHeaders(std::string_view form, std::string_view decrypted_header,
                               const smime::MimeLimits& limits,
                               std::string_view signed_header = {});

}  // namespace sg::workers
