// CertificateSource: one place a recipient's certificate may be found when
// the keyservice knows none (certificate discovery, docs/discovery.md):
// SMIMEA records (discovery_smimea.h) and partner LDAP directories
// (discovery_ldap.h).
//
// A source only finds candidates. Whether one is used is decided by the
// keyservice's harvest check (CertificateDiscovery), the same check and the
// same code as for a certificate harvested from a signed message.
//
// Threading: Find blocks and is called on the discovery pool's threads,
// possibly several at once: implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sg::workers {

struct SourceAnswer {
  // The metric label of what the source saw: found (candidates below),
  // not_found (NXDOMAIN / NODATA / no entry), not_validated (an answer
  // without DNSSEC validation: ignored), no_certificate (records that hold
  // no whole usable certificate, e.g. digests), error, timeout.
  std::string result;
  std::vector<std::string> certificates_der;  // candidates, unvalidated
  std::string detail;                         // for the log line (no secrets)
};

class CertificateSource {
 public:
  virtual ~CertificateSource() = default;
  // The metric label of the source ("smimea", "ldap").
  virtual std::string_view Name() const = 0;
  // False when the source has nothing to say about `address` (an LDAP
  // directory of another partner's domains): it is then not asked and not
  // counted. `address` normalised.
  virtual bool Covers(const std::string& /*address*/) const { return true; }
  // Looks `address` up: the local-part as the sender wrote it (RFC 8162
  // hashes it so; CertificateDiscovery::Lookup), the domain normalised
  // (A-labels, lower case). Never throws, errors are answers.
  virtual SourceAnswer Find(const std::string& address) = 0;
};

}  // namespace sg::workers
