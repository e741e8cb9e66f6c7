#include "workers/discovery/discovery_smimea.h"

#include "common/dns/dns_answer.h"
#include "common/dns/dns_blocking.h"
#include "common/dns/tlsa_record.h"

namespace sg::workers {
namespace {

bool UsableUsage(uint8_t usage) {
  return usage == static_cast<uint8_t>(dns::TlsaUsage::kDaneEe) ||
         usage == static_cast<uint8_t>(dns::TlsaUsage::kPkixEe);
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
  const std::string name = dns::SmimeaOwnerName(address.substr(0, at), address.substr(at + 1));
  auto answer = dns::ResolveAuthenticatedBlocking(options_, name, dns::kTypeSmimea);
  if (!answer.ok()) {
    out.result = answer.error().code == ErrorCode::kTimeout ? "timeout" : "error";
    out.detail = answer.error().ToString();
    return out;
  }
  if (answer->rdata.empty()) {
    out.result = "not_found";
    return out;
  }
  if (!answer->authenticated) {
    out.result = "not_validated";
    out.detail = name + ": answer not DNSSEC-validated (AD clear)";
    return out;
  }
  for (const auto& rdata : answer->rdata) {
    auto record = dns::ParseTlsaRdata(rdata);
    if (!record.ok() || !UsableUsage(record->usage) || !record->HoldsCertificate()) continue;
    out.certificates_der.push_back(record->data);
  }
  out.result = out.certificates_der.empty() ? "no_certificate" : "found";
  return out;
}

}  // namespace sg::workers
