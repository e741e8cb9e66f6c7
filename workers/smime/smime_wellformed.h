// Is decrypted content a well-formed MIME entity?
//
// Purpose: AES-CBC has no integrity. A tampered ciphertext still decrypts
// (with valid padding often enough) to bytes of which one 16-byte block is
// random and the next is changed as the attacker chose: the EFAIL gadget.
// Such content must not be delivered (issue 13 point 1). The engine checks
// CBC output with this before returning it; a failure counts as a failed
// decryption and looks the same from outside as any other.
//
// The checks, recursively through multiparts (bounded by MimeLimits):
//   - a header block of valid fields ("Name: value", folds) ending in a
//     blank line, with no NUL byte, no 8-bit byte in a field name;
//   - no ambiguous fields (AmbiguousField: From, Subject, Content-Type or a
//     Content-Type parameter twice);
//   - multipart: a boundary, at least one part, the close delimiter;
//   - base64 bodies decode (only base64 characters, correct padding);
//     quoted-printable bodies have only =XX escapes and soft breaks, no
//     8-bit byte;
//   - 7bit bodies have no 8-bit byte and no NUL; 8bit text bodies are valid
//     UTF-8 when the charset is UTF-8, US-ASCII or not given, and have no
//     NUL or C0 control other than TAB, CR, LF, FF in any case.
// Random 16-byte blocks fail one of these with high probability (base64:
// ~1 - 1e-9; headers and structure: near 1; 8-bit text in a legacy charset:
// lowest, ~0.84), so this narrows the gadget, it does not replace
// integrity: AuthEnvelopedData does, and the DecryptFailureGuard refuses a
// content key seen with other ciphertext.
//
// Threading: pure function.
#pragma once

#include <string_view>

#include "common/result.h"
#include "workers/smime/smime_mime.h"

namespace sg::smime {

// OkStatus, or kCorruption naming what is wrong (for logs, never for senders).
Status CheckWellFormedEntity(std::string_view entity, const MimeLimits& limits);

}  // namespace sg::smime
