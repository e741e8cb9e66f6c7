// TOTP (RFC 6238) over HOTP (RFC 4226) with OpenSSL's HMAC: the optional
// second factor a recipient can turn on, and base32 (RFC 4648) for the
// secret as authenticator apps take it (otpauth:// URI).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sg::portal {

// RFC 4226 HOTP: `digits` decimal digits of HMAC-`digest`(secret, counter).
std::string Hotp(std::string_view secret, uint64_t counter, int digits = 6,
                 std::string_view digest = "SHA1");
// RFC 6238 TOTP at `unix_seconds` with time step `step` seconds.
std::string Totp(std::string_view secret, int64_t unix_seconds, int digits = 6,
                 std::string_view digest = "SHA1", int step = 30);

// Checks `code` against the steps now-1 .. now+1 (clock drift of a phone);
// returns the matching step, which the caller stores so that the same code
// is never accepted twice (RFC 6238 section 5.2). nullopt: wrong, or a step
// not after `last_used_step`.
std::optional<int64_t> VerifyTotp(std::string_view secret, std::string_view code,
                                  int64_t unix_seconds, int64_t last_used_step);

std::string Base32(std::string_view bytes);  // upper case, no padding

// otpauth://totp/<issuer>:<address>?secret=...&issuer=...
std::string OtpAuthUri(std::string_view issuer, std::string_view address,
                       std::string_view secret);

}  // namespace sg::portal
