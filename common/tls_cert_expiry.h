// When certificates expire, for the certificate-expiry gauges
// (smimegate_certificate_not_after_timestamp_seconds, set by the app at
// start and on reload).
//
// Errors: kNotFound / kIoError when the file cannot be read,
// kInvalidArgument when it holds no certificate (PEM) or the DER does not
// parse. Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace sg::tls {

// notAfter of the first certificate of a PEM file (the leaf of a chain), unix seconds.
Result<int64_t> PemFileNotAfter(const std::string& path);
// notAfter of a DER certificate, unix seconds.
Result<int64_t> DerNotAfter(const std::string& der);

}  // namespace sg::tls
