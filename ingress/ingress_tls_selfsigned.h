// The certificate STARTTLS uses when a listener has none configured (issue
// 13 point 12): every MX on the internet offers opportunistic TLS (RFC 3207,
// RFC 7435), so ours does too, from the first start, with a self-signed
// certificate that senders cannot verify but that still encrypts.
//
// Made once and kept under the data directory (<dir>/selfsigned.pem and
// <dir>/selfsigned.key, the key mode 0600 in a 0700 directory, written to a
// temporary file and renamed, so a crash never leaves half a key). It is
// made again when missing, unreadable, for another host name, or within 30
// days of its end. ECDSA P-256, SHA-256, 825 days, CN and DNS SAN = the
// host name.
//
// Threading: call from the main thread at start-up.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "ingress/ingress_config.h"

namespace sg::ingress {

// The certificate and key files for `hostname` under `dir`, made if needed.
// `now_unix` is the wall clock (seconds). Errors name the file.
Result<ListenerTlsConfig> EnsureSelfSignedCertificate(const std::string& dir,
                                                      const std::string& hostname,
                                                      int64_t now_unix);

}  // namespace sg::ingress
