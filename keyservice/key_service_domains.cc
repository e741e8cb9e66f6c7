// KeyServiceImpl: domain validation and the issuance gate of public CA
// backends (domain_validation.h, docs/keyservice.md "Domain validation").
#include <algorithm>

#include "common/log_event.h"
#include "keyservice/key_service_impl.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

std::string KeyServiceImpl::CaBackendOf(const std::string& domain) const {
  for (const auto& d : config_.ca.domains) {
    if (d.domain == domain) return d.backend;
  }
  return config_.ca.backend;
}

Domain KeyServiceImpl::DomainView(const store::StoredDomain& d) const {
  Domain out{d.name(), d.tenant()};
  out.ca_backend = CaBackendOf(d.name());
  out.needs_validation = ca_->RequiresDomainValidation(d.name());
  const auto& v = d.validation();
  out.validation_state = v.state();
  if (v.state() == "valid" && UnixSeconds(clock_.Now()) > v.valid_until()) {
    out.validation_state = "failed";  // expired; the next check records it
    out.validation_reason = "expired";
  } else {
    out.validation_reason = v.reason();
  }
  out.validated_at = v.validated_at();
  out.valid_until = v.valid_until();
  out.next_check_at = v.next_check_at();
  if (!v.token().empty()) {
    out.record_name = ChallengeRecordName(validation_->config(), d.name());
    out.record_value = ChallengeRecordValue(v.token());
  }
  return out;
}

Result<Domain> KeyServiceImpl::ValidateDomain(const std::string& domain) {
  SG_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain));
  SG_ASSIGN_OR_RETURN(auto d, validation_->Start(name));
  UpdateUnvalidatedGauge();
  if (wake_checks_) wake_checks_();
  return DomainView(d);
}

Result<int> KeyServiceImpl::CheckDomainValidations() {
  auto checked = validation_->CheckDue();
  UpdateUnvalidatedGauge();
  return checked;
}

std::optional<std::chrono::milliseconds> KeyServiceImpl::TimeToNextDomainCheck() {
  auto next = validation_->NextCheck();
  if (!next) return std::nullopt;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock_.Now());
  return std::max(left, std::chrono::milliseconds(0));
}

void KeyServiceImpl::UpdateUnvalidatedGauge() {
  auto domains = store_->ListDomains();
  if (!domains.ok()) return;  // the next pass updates it
  int unvalidated = 0;
  for (const auto& d : *domains) {
    if (ca_->RequiresDomainValidation(d.name()) && !validation_->IsValid(d)) ++unvalidated;
  }
  metrics_.unvalidated_domains.Set(unvalidated);
}

Status KeyServiceImpl::CheckDomainValidated(const std::string& owner) {
  const std::string domain =
      !owner.empty() && owner[0] == '@' ? owner.substr(1) : DomainOf(owner);
  if (!ca_->RequiresDomainValidation(domain)) return OkStatus();
  if (validation_->IsValid(domain)) return OkStatus();
  metrics_.refused_unvalidated.Inc();
  log::Event("keyservice")
      .Field("action", "ca_refused_unvalidated")
      .Field("address", owner)
      .Field("domain", domain)
      .Warn();
  return MakeError(ErrorCode::kPermissionDenied,
                   "domain " + domain + " has no valid domain validation, which its public CA "
                   "backend (" + CaBackendOf(domain) + ") requires: run `smimegatectl domain "
                   "validate " + domain + "` and publish the TXT record it prints");
}

}  // namespace sg::keyservice
