// The key-encryption key (KEK): every private key in the store is sealed
// with AES-256-GCM under it, bound (as additional authenticated data) to the
// record it belongs to, so a sealed key copied to another record fails to
// open.
//
// The KEK comes from a file or an environment variable (as a Kubernetes
// Secret provides it): 32 bytes, given raw, as 64 hex digits or as base64.
// A missing or malformed KEK is an error naming where it was looked for;
// the KEK itself never appears in a message or a log.
//
// Sealed format: 0x01 | 12-byte random nonce | ciphertext | 16-byte tag.
//
// Threading: a Kek is immutable; Seal/Open are thread-safe.
#pragma once

#include <array>
#include <string>

#include "common/result.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

class Kek {
 public:
  // From config: kek_file if set (created when kek_create and missing),
  // else the environment variable kek_env.
  static Result<Kek> Load(const KeyServiceConfig& config);
  // Parses raw / hex / base64 key material; `source` names it in errors.
  static Result<Kek> FromMaterial(const std::string& material, const std::string& source);
  // Writes a new random KEK (base64) to `path` with mode 0600.
  static Status CreateFile(const std::string& path);

  ~Kek();
  Kek(const Kek&) = default;
  Kek& operator=(const Kek&) = default;

  std::string Seal(const std::string& plaintext, const std::string& aad) const;
  // kPermissionDenied when the tag does not verify (wrong KEK or tampering),
  // kCorruption when the format is broken.
  Result<std::string> Open(const std::string& sealed, const std::string& aad) const;

 private:
  Kek() = default;
  std::array<unsigned char, 32> key_{};
};

// The additional authenticated data binding a sealed private key to its
// store record.
std::string KeyAad(const std::string& owner, const std::string& key_id);

}  // namespace sg::keyservice
