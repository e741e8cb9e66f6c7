// TLSA (RFC 6698) and SMIMEA (RFC 8162) records: the same RDATA (certificate
// usage, selector, matching type, association data), read from the wire and
// matched against a certificate. Shared by certificate discovery (workers,
// SMIMEA) and DANE on egress (TLSA, RFC 7672).
//
// Only what the record says is checked here; what a usage means (PKIX-EE
// still needs a chain to a trusted root, DANE-EE does not) is the caller's
// policy.
//
// Threading: pure functions.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::dns {

enum class TlsaUsage : uint8_t { kPkixTa = 0, kPkixEe = 1, kDaneTa = 2, kDaneEe = 3 };
enum class TlsaSelector : uint8_t { kFullCertificate = 0, kSubjectPublicKeyInfo = 1 };
enum class TlsaMatching : uint8_t { kExact = 0, kSha256 = 1, kSha512 = 2 };

struct TlsaRecord {
  uint8_t usage = 0;          // TlsaUsage; other values are kept (and match nothing)
  uint8_t selector = 0;       // TlsaSelector
  uint8_t matching_type = 0;  // TlsaMatching
  std::string data;           // certificate association data (binary)

  // True when the record holds a whole certificate (selector 0, matching
  // type 0): the only form that lets a certificate be discovered rather
  // than merely confirmed.
  bool HoldsCertificate() const {
    return selector == static_cast<uint8_t>(TlsaSelector::kFullCertificate) &&
           matching_type == static_cast<uint8_t>(TlsaMatching::kExact);
  }
};

// Parses one record's wire RDATA (RFC 6698 2.1). Errors: kCorruption when it
// is shorter than the three octets of usage, selector and matching type, or
// has no association data.
Result<TlsaRecord> ParseTlsaRdata(std::string_view rdata);

// Whether `cert` is what `record` describes: the selected part (the DER
// certificate or its DER SubjectPublicKeyInfo) compared exactly or by its
// SHA-256 / SHA-512 digest. Unknown selectors or matching types do not match
// (RFC 6698 4.1: such records are unusable). Errors: kInvalidArgument when
// the certificate cannot be encoded.
Result<bool> TlsaMatches(const TlsaRecord& record, X509* cert);

// The certificate held by a HoldsCertificate() record. Errors:
// kInvalidArgument when the record holds no certificate, kCorruption when the
// data is no DER certificate (or has trailing bytes).
Result<X509*> TlsaCertificate(const TlsaRecord& record);  // caller owns (X509_free)

// The SMIMEA owner name of an address (RFC 8162 3): the SHA2-256 of the
// local-part as it is written, truncated to 28 octets, as hexadecimal, then
// "._smimecert." and the domain. For example "hugh" at example.com ->
// "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert.example.com".
std::string SmimeaOwnerName(std::string_view local_part, std::string_view domain);

}  // namespace sg::dns
