#include "workers/discovery/discovery_smimea.h"

#include <vector>

#include "common/ascii.h"
#include "common/dns/dns_answer.h"
#include "common/dns/dns_blocking.h"
#include "common/dns/tlsa_record.h"

namespace sg::workers {
namespace {

bool UsableUsage(uint8_t usage) {
  return usage == static_cast<uint8_t>(dns::TlsaUsage::kDaneEe) ||
         usage == static_cast<uint8_t>(dns::TlsaUsage::kPkixEe);
}

// What a validated (or not) answer with records offers.
SourceAnswer FromRecords(const std::string& name, const dns::AuthenticatedAnswer& answer) {
  SourceAnswer out;
  if (!answer.authenticated) {
    out.result = "not_validated";
    out.detail = name + ": answer not DNSSEC-validated (AD clear)";
    return out;
  }
  for (const auto& rdata : answer.rdata) {
    auto record = dns::ParseTlsaRdata(rdata);
    if (!record.ok() || !UsableUsage(record->usage) || !record->HoldsCertificate()) continue;
    out.certificates_der.push_back(record->data);
  }
  out.result = out.certificates_der.empty() ? "no_certificate" : "found";
  out.detail = name;
  return out;
}

}  // namespace

SourceAnswer SmimeaSource::Find(const std::string& address) {
  SourceAnswer out;
  const size_t at = address.rfind('@');
  if (at == std::string::npos || at == 0) {
    out.result = "error";
    out.detail = "no local-part";
    return out;
  }
  // RFC 8162 section 3 hashes the local-part as written; a domain that
  // treats its local-parts case-insensitively may have published the
  // lower-case form only (docs/discovery.md "Local-part").
  const std::string local = address.substr(0, at);
  const std::string domain = address.substr(at + 1);
  std::vector<std::string> names = {dns::SmimeaOwnerName(local, domain)};
  if (AsciiLower(local) != local) names.push_back(dns::SmimeaOwnerName(AsciiLower(local), domain));
  for (const std::string& name : names) {
    auto answer = dns::ResolveAuthenticatedBlocking(options_, name, dns::kTypeSmimea);
    if (!answer.ok()) {
      out.result = answer.error().code == ErrorCode::kTimeout ? "timeout" : "error";
      out.detail = answer.error().ToString();
      return out;
    }
    if (answer->rdata.empty()) continue;  // NXDOMAIN / NODATA: the next form
    return FromRecords(name, *answer);
  }
  out.result = "not_found";
  return out;
}

}  // namespace sg::workers
