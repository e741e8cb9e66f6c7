// PKCS#12 parsing for `smimegatectl key import`: the files mail clients
// export, modern (PBES2/AES, SHA-256 MAC) and legacy (RC2-40 / 3DES with a
// SHA-1 MAC, as Windows and Thunderbird write them). OpenSSL 3 keeps RC2
// and the old PBE schemes in its "legacy" provider. The file is DER, or the
// same DER in one PEM "-----BEGIN PKCS12-----" block (GnuTLS certtool's
// armoured output, which gpgsm imports too).
//
// The legacy provider is loaded only into a private library context
// (OSSL_LIB_CTX) that exists for this parser: while a file is decoded, that
// context is the calling thread's default, and what comes out (key and
// certificates) is re-encoded and parsed again in the process's default
// context. The default context, which the mail path (CMS decrypt) uses,
// never gains RC2, DES or other legacy algorithms (issue 13, point 2).
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

// kInvalidArgument: not a PKCS#12 (nor an armoured one) / no key / no
// matching certificate;
// kPermissionDenied: wrong password; kUnsupported: an algorithm OpenSSL
// cannot do even with the legacy provider.
Result<ParsedPkcs12> ParsePkcs12(const std::string& data, const std::string& password);

// True when the private PKCS#12 context has the legacy provider (the
// package that ships it, libssl3 on Debian, is installed).
bool Pkcs12LegacyAvailable();

}  // namespace sg::keyservice
