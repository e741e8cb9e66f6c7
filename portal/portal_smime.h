// A recipient's own S/MIME certificate in the portal: checked when they
// upload it, and used to download a stored message encrypted to it
// (application/pkcs7-mime, AES-256-CBC for the widest client support; the
// original .eml is the content).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace sg::portal {

struct CertificateInfo {
  std::string der;
  std::string subject;
  std::string not_after;   // "2027-12-06"
  std::string fingerprint; // SHA-256, hex
};

// Accepts PEM or DER. kInvalidArgument unless it is an X.509 certificate
// naming `address` (subjectAltName rfc822Name or emailAddress), valid at
// `now_unix`, with an RSA or EC key usable for encryption.
Result<CertificateInfo> CheckRecipientCertificate(const std::string& data,
                                                  const std::string& address, int64_t now_unix);

// The stored message encrypted to `certificate_der`, as a complete message
// (From, To, Subject and Date of the original, then the S/MIME body).
Result<std::string> EncryptForDownload(const std::string& message,
                                       const std::string& certificate_der);

}  // namespace sg::portal
