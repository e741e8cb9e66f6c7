// Dates in mail headers (RFC 5322 3.3): Received, DSN Date and Arrival-Date.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace sg::mail {

// RFC 5322 date-time for `ms` (unix milliseconds, UTC):
// "Sat, 28 Nov 2026 19:03:28 +0000".
std::string Rfc5322Date(int64_t ms);

}  // namespace sg::mail
