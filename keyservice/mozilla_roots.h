// Mozilla's root store, the roots trusted for email (S/MIME), read from
// NSS's built-in root module (libnssckbi.so, Debian package libnss3).
//
// Purpose: the trust anchors for partner signatures and certificates come
// from the roots Mozilla trusts for email, not from the server-authentication
// bundle (/etc/ssl/certs), so a partner under a public S/MIME-only hierarchy
// is trusted without the admin (issue 18). The module is read through
// p11-kit's module loader and the PKCS#11 API: every NSS trust object
// (CKO_NSS_TRUST) whose CKA_TRUST_EMAIL_PROTECTION is
// CKT_NSS_TRUSTED_DELEGATOR names a root (issuer + serial, and the SHA-1 of
// the certificate, which is checked); a root with an email distrust-after
// date (CKA_NSS_EMAIL_DISTRUST_AFTER) is left out, since a date cut-off
// cannot be expressed in an OpenSSL trust store.
//
// Threading: ExtractMozillaEmailRoots may be called from any thread; it
// loads and finalises its own instance of the module (p11-kit isolates it).
// Errors: kUnavailable when the module does not load (file missing: install
// libnss3, or set keyservice.trust.mozilla_module), kCorruption when it loads
// but holds no email-trusted root or a trust object does not match its
// certificate.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::keyservice {

struct RootBundle {
  std::vector<std::string> der;  // the roots, X.509 DER
  // Where they came from: "Mozilla root store (NSS builtins 2.60, /usr/lib/.../libnssckbi.so)".
  std::string origin;
  int64_t extracted_at = 0;  // unix seconds
};

// The module path the build found (find_library nssckbi), or "".
std::string DefaultMozillaModule();

Result<RootBundle> ExtractMozillaEmailRoots(const std::string& module_path, int64_t now_unix);

// How KeyServiceImpl gets the bundle; tests wrap the real extraction to add
// a test root (the injection point).
using MozillaRootSource = std::function<Result<RootBundle>(const std::string& module_path,
                                                           int64_t now_unix)>;

}  // namespace sg::keyservice
