// Content properties the policy decides on: calendar / TNEF parts (never
// encrypted) and Outlook's Sensitivity header (forces encryption).
//
// Threading: pure functions over the message bytes (byte-exact MIME helpers
// of workers/smime/smime_mime.h, bounded by MimeLimits).
#pragma once

#include <string>
#include <string_view>

#include "workers/smime/smime_mime.h"

namespace sg::workers {

// The first part that must never be encrypted: "text/calendar",
// "application/ms-tnef" (also a winmail.dat attachment of another type), at
// the top level or inside any multipart. Attached messages (message/rfc822)
// are not descended into: an invitation forwarded as an attachment is an
// attachment. Empty when there is none (or the MIME cannot be parsed: then
// the message is treated like any other, i.e. encrypted when it can be).
std::string NeverEncryptPart(std::string_view message, const smime::MimeLimits& limits = {});

// Sensitivity: Company-Confidential (RFC 2156 / Outlook "Confidential").
bool CompanyConfidential(std::string_view message);

// Lower-cased addr-spec of the From header, empty when absent or unparsable.
std::string FromAddress(std::string_view message);

}  // namespace sg::workers
