// PKCS#12 parsing for `smimegatectl key import`: the files mail clients
// export, modern (PBES2/AES, SHA-256 MAC) and legacy (RC2-40 / 3DES with a
// SHA-1 MAC, as Windows and Thunderbird write them). OpenSSL 3 keeps RC2
// and 3DES-PBE in its "legacy" provider, which is loaded explicitly (with
// "default") the first time a file is parsed.
//
// Threading: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

struct ParsedPkcs12 {
  PkeyPtr key;
  X509Ptr certificate;  // the one matching the key
  std::vector<X509Ptr> chain;  // other certificates in the file
};

// kInvalidArgument: not a PKCS#12 / no key / no matching certificate;
// kPermissionDenied: wrong password; kUnsupported: an algorithm OpenSSL
// cannot do even with the legacy provider.
Result<ParsedPkcs12> ParsePkcs12(const std::string& data, const std::string& password);

// Loads the "legacy" and "default" providers once. false when the legacy
// provider is not installed (legacy files then fail with kUnsupported).
bool EnsureLegacyProvider();

}  // namespace sg::keyservice
