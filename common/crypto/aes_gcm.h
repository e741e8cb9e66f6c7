// AES-256-GCM with a random 96-bit nonce and additional authenticated data,
// the one implementation behind every "sealed" value of the gateway (the
// keyservice's KEK-sealed private keys, the portal's vault). Callers add
// their own format header (a version byte, a key id) in front of the
// nonce | ciphertext | tag this writes and reads.
//
// Errors: GcmOpen returns false when the tag does not verify (wrong key,
// wrong AAD, tampering) and leaves `out` empty and wiped; it says nothing
// about the data. A failing RNG or cipher initialisation with valid
// parameters aborts (a broken invariant: nothing safe can continue).
//
// Threading: pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sg::crypto {

inline constexpr size_t kGcmKeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
// What GcmSealAppend adds beyond the plaintext.
inline constexpr size_t kGcmOverhead = kGcmNonceSize + kGcmTagSize;

// Appends nonce | ciphertext | tag of `plaintext` under `key` (kGcmKeySize
// bytes) with `aad` to `out`; the nonce is fresh random bytes.
void GcmSealAppend(const unsigned char* key, std::string_view plaintext, std::string_view aad,
                   std::string& out);

// Opens `sealed` (nonce | ciphertext | tag, as GcmSealAppend wrote it) into
// `out`; false when it is shorter than kGcmOverhead or does not verify.
bool GcmOpen(const unsigned char* key, std::string_view sealed, std::string_view aad,
             std::string& out);

}  // namespace sg::crypto
