// Base64 (RFC 4648 alphabet): the one implementation of the tree.
//
// The MIME forms (RFC 2045 6.8) are the hot path of the S/MIME engine: every
// signed or encrypted message is base64 in and out, so the encoder writes
// whole 76-column lines without per-byte branches and the decoder takes a
// whole line per step through four shifted lookup tables (see base64.cc and
// bench/smime for the figures). The one-line and strict forms serve SASL
// (AUTH PLAIN / LOGIN) and key files.
//
// Errors: kInvalidArgument naming the problem; no partial output.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::mail {

// MIME base64: 76-column lines, each ending in CRLF (the last one too).
std::string Base64Encode(std::string_view in);
// The same, appended to |out| (no temporary copy of the encoded text).
void Base64EncodeAppend(std::string_view in, std::string& out);
// Tolerant MIME decoder: skips CR, LF, space and tab anywhere; '=' ends the
// data; kInvalidArgument on any other byte outside the alphabet.
Result<std::string> Base64Decode(std::string_view in);

// True when Base64Decode accepts |body| and nothing but padding and white
// space follows the first '=' (a well-formed MIME base64 body), checked
// without decoding or allocating.
bool Base64Wellformed(std::string_view body);

// One line, no line breaks (RFC 4648 section 4), with padding.
std::string Base64EncodeOneLine(std::string_view in);
// Strict RFC 4648: length a multiple of 4, alphabet only, '=' only as one or
// two final padding characters; no whitespace.
Result<std::string> Base64DecodeStrict(std::string_view in);

}  // namespace sg::mail
