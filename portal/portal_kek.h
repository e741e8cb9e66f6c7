// The portal's key-encryption key (KEK): it seals the portal key, which
// wraps every message's data key (docs/portal.md "Keys").
//
// A secret of its own, not the keyservice's KEK: the portal stage never
// holds the key that protects the users' private keys, and the keyservice
// never holds a key that opens portal mail. It comes from a file
// (portal.kek_file; created with mode 0600 at the first start when
// portal.kek_create is true, as in the demo) or from an environment variable
// (portal.kek_env, as a Kubernetes Secret provides it): 32 bytes, raw, as 64
// hex digits or as base64 (`openssl rand -base64 32`). A file that group or
// others may read is refused. The KEK never appears in a message or a log.
//
// Threading: call at start-up.
#pragma once

#include <string>

#include "common/result.h"
#include "portal/portal_crypto.h"

namespace sg::portal {

struct KekSource {
  std::string file;  // absolute; empty: use env
  bool create = false;
  std::string env = "SMIMEGATE_PORTAL_KEK";
};

// kNotFound naming where it looked, kPermissionDenied for a file others may
// read, kInvalidArgument for malformed material.
Result<SecretKey> LoadKek(const KekSource& source);

// Raw / hex / base64 key material; `where` names it in errors.
Result<SecretKey> ParseKeyMaterial(const std::string& material, const std::string& where);

}  // namespace sg::portal
