// The portal's small cryptographic toolbox (OpenSSL): AES-256-GCM sealing
// with a version byte and additional authenticated data, random bytes,
// SHA-256, HMAC, base64url text and constant-time comparison.
//
// Sealed format: 0x01 | 12-byte random nonce | ciphertext | 16-byte tag.
// The AAD binds a sealed value to the record it belongs to, so a value
// copied to another record does not open.
//
// Errors: Open returns kPermissionDenied when the tag does not verify (wrong
// key or tampering) and kCorruption when the format is broken; both carry no
// detail about the data. A failing RNG or cipher initialisation aborts (a
// broken invariant; nothing safe can continue).
//
// Threading: pure functions; SecretKey is immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::portal {

// 32 bytes of key material, wiped when destroyed.
class SecretKey {
 public:
  static constexpr size_t kSize = 32;
  SecretKey() = default;
  // From exactly 32 bytes; kInvalidArgument otherwise.
  static Result<SecretKey> FromBytes(std::string_view bytes);
  static SecretKey Random();
  ~SecretKey();
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;

  const unsigned char* data() const { return bytes_.data(); }
  // A copy of the bytes (to seal the key itself); wipe it after use.
  std::string Bytes() const;

 private:
  std::array<unsigned char, kSize> bytes_{};
};

std::string Seal(const SecretKey& key, std::string_view plaintext, std::string_view aad);
Result<std::string> Open(const SecretKey& key, std::string_view sealed, std::string_view aad);

std::string RandomBytes(size_t n);
std::string Sha256(std::string_view data);
// HMAC with `digest` "SHA1", "SHA256" or "SHA512" (TOTP); empty on an unknown digest.
std::string Hmac(std::string_view digest, std::string_view key, std::string_view data);

// Base64url (RFC 4648 section 5) without padding, on top of the tree's one
// base64 (common/mail/base64.h): tokens, session ids, CSRF values.
std::string UrlSafeText(std::string_view bytes);
// kInvalidArgument for anything but unpadded base64url.
Result<std::string> FromUrlSafeText(std::string_view text);
std::string Hex(std::string_view bytes);

// Compares without an early exit (tokens, CSRF values, codes).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// Overwrites a string holding a secret.
void Wipe(std::string& secret);

}  // namespace sg::portal
