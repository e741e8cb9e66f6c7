// The key-encryption key (KEK): every private key in the store is sealed
// with AES-256-GCM under it, bound (as additional authenticated data) to the
// record it belongs to, so a sealed key copied to another record fails to
// open.
//
// Where it comes from (keyservice.* in docs/configuration.md): a file or an
// environment variable (as a Kubernetes Secret provides it), either
//   - kek_format: key         32 random bytes, given raw, as 64 hex digits
//                             or as base64 (`openssl rand -base64 32`), or
//   - kek_format: passphrase  a passphrase of at least 12 characters, run
//                             through Argon2id (libargon2) with a salt and
//                             parameters stored in the key store beside the
//                             KEK check value (record "kek_kdf").
// A KEK file must be readable by its owner only (mode 0600 or 0400): a file
// that group or others may access is refused, naming the file and the fix.
// A missing or malformed KEK is an error naming where it was looked for;
// the KEK itself never appears in a message or a log.
//
// Rotation: besides the current KEK, a previous one may be configured
// (kek_previous_file / kek_previous_env). Open() accepts both; Seal() always
// uses the current one. `smimegatectl kek rotate` (KeyServiceImpl::RotateKek)
// re-seals every record that is not yet under the current KEK, one synced
// write per record, so a crash at any point leaves every record sealed under
// one of the two; the rotation is complete when nothing is left, and the
// previous KEK can then be removed.
//
// Sealed formats:
//   v1: 0x01 | 12-byte nonce | ciphertext | 16-byte tag         (read only)
//   v2: 0x02 | 8-byte KEK id | 12-byte nonce | ciphertext | tag
// The KEK id is the first 8 bytes of HMAC-SHA256(kek, "smimegate kek id v1"):
// it says which KEK sealed a record without revealing anything about it.
//
// Threading: a Kek is immutable after Load; Seal/Open are thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "common/result.h"
#include "keyservice/key_store.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

// Argon2id parameters for new stores (kept in the store afterwards).
struct KdfParams {
  uint32_t time_cost = 3;
  uint32_t memory_kib = 64 * 1024;
  uint32_t parallelism = 1;
};

class Kek {
 public:
  // From config: the current KEK (kek_file, created when kek_create and
  // missing, else the environment variable kek_env) and, when configured,
  // the previous one. Passphrases are derived with the parameters in
  // `store` (created there with a random salt on first use).
  static Result<Kek> Load(const KeyServiceConfig& config, KeyStore& store);
  // Parses raw / hex / base64 key material; `source` names it in errors.
  static Result<Kek> FromMaterial(const std::string& material, const std::string& source);
  // Argon2id over `passphrase` (trailing newlines dropped); kInvalidArgument
  // when shorter than 12 characters.
  static Result<Kek> FromPassphrase(const std::string& passphrase, const store::StoredKdf& kdf,
                                    const std::string& source);
  // Writes a new random KEK (base64) to `path` with mode 0600.
  static Status CreateFile(const std::string& path);
  // kPermissionDenied when group or others may access `path`.
  static Status CheckFileMode(const std::string& path, const std::string& what);

  ~Kek();
  Kek(const Kek&) = default;
  Kek& operator=(const Kek&) = default;

  // Also accept `previous` (its current key) in Open().
  void SetPrevious(const Kek& previous);
  bool has_previous() const { return previous_.has_value(); }

  std::string Seal(const std::string& plaintext, const std::string& aad) const;
  // kPermissionDenied when the tag does not verify (wrong KEK or tampering)
  // or the record names a KEK that is not configured; kCorruption when the
  // format is broken.
  Result<std::string> Open(const std::string& sealed, const std::string& aad) const;
  // True when `sealed` is in the v2 format under the current KEK (nothing
  // for a rotation to do).
  bool SealedUnderCurrent(const std::string& sealed) const;
  // Opens with either KEK and seals under the current one.
  Result<std::string> Reseal(const std::string& sealed, const std::string& aad) const;

  // Hex ids (16 digits) for messages and `smimegatectl kek rotate`.
  std::string id() const;
  std::string previous_id() const;

 private:
  struct Key {
    std::array<unsigned char, 32> bytes{};
    std::array<unsigned char, 8> id{};
  };
  Kek() = default;
  static Kek FromBytes(const unsigned char* bytes);
  static void Cleanse(Key& key);

  Key current_;
  std::optional<Key> previous_;
};

// The additional authenticated data binding a sealed private key to its
// store record.
std::string KeyAad(const std::string& owner, const std::string& key_id);

}  // namespace sg::keyservice
