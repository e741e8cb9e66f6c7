// The OpenSSL CMP client context for one exchange with the public CA
// (cmp_ca.h): server address, bounded timeouts, request protection (a
// shared secret or the gateway's client certificate) and the pinned CA
// certificates from keyservice.ca.cmp (cmp_config.h).
//
// The credentials are loaded once (LoadCmpCredentials) and shared
// read-only; each exchange gets its own OSSL_CMP_CTX (NewCmpContext), so
// exchanges on several threads never share mutable OpenSSL state. The
// shared secret is wiped when the credentials are destroyed and is never
// logged: OpenSSL's CMP log output is dropped, errors carry only the
// library's error text.
//
// Threading: CmpCredentials is immutable after loading; NewCmpContext is
// thread-safe.
#pragma once

#include <openssl/cmp.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "keyservice/cmp_config.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

struct CmpCredentials {
  CmpCredentials() = default;
  CmpCredentials(CmpCredentials&&) = default;
  CmpCredentials& operator=(CmpCredentials&&) = default;
  ~CmpCredentials();

  std::string secret;     // MAC protection
  X509Ptr client_cert;    // signature protection
  PkeyPtr client_key;
  X509Ptr server_cert;    // pinned response signer (may be null with MAC)
  X509Ptr issuing;        // the issuing CA
  X509Ptr root;           // issued certificates must chain to it
};

// kInvalidArgument naming the config key and file that cannot be read or
// parsed, or the missing secret (file or environment variable).
Result<CmpCredentials> LoadCmpCredentials(const CmpConfig& config);

struct CmpCtxFree {
  void operator()(OSSL_CMP_CTX* p) const { OSSL_CMP_CTX_free(p); }
};
using CmpCtxPtr = std::unique_ptr<OSSL_CMP_CTX, CmpCtxFree>;

// How the request of one exchange is protected.
enum class CmpProtection {
  kConfigured,  // keyservice.ca.cmp.protection (MAC or the client certificate)
  kOldKey,      // kur: signed with the certificate being updated (RFC 9483 4.1.3)
};

// A context for one exchange; kInternal when OpenSSL refuses a setting.
Result<CmpCtxPtr> NewCmpContext(const CmpConfig& config, const CmpCredentials& credentials,
                                CmpProtection protection);

}  // namespace sg::keyservice
