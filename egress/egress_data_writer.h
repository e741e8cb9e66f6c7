// The bytes egress writes after DATA: the message, dot-stuffed, and the
// terminating "." line (RFC 5321 4.5.2).
//
// Egress never sends a bare CR or a bare LF (a CR or LF that is not part of
// a CRLF pair). A receiver that reads one as a line end can be made to see
// an end of data where the gateway saw none: SMTP smuggling (RFC 5321
// 2.3.8). Egress does not repair such a message either: its bytes may be
// signed, and signed bytes are never changed after signing (DESIGN.md
// invariant 7). A message with a bare line ending is refused with the
// offset of the first one; the caller bounces it with a DSN and keeps it in
// the dead-letter topic. Ingress refuses bare line endings in DATA and BDAT
// and workers write CRLF, so this is a last line of defence.
//
// The one change made: a message whose last line has no line ending gets a
// CRLF before the final ".", as SMTP requires.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::egress {

// Offset of the first bare CR or LF of `message`, or npos when it has none.
size_t FindBareLineEnding(std::string_view message);

// A one-line reason for a bare line ending at `offset` of `message` (for
// DSNs, dead-letter reasons and logs; names CR or LF and the offset).
std::string BareLineEndingReason(std::string_view message, size_t offset);

// Dot-stuffs `message` and appends ".\r\n". kInvalidArgument (with
// BareLineEndingReason) when the message has a bare CR or LF: nothing is
// produced for such a message.
Result<std::string> DotStuff(std::string_view message);

}  // namespace sg::egress
