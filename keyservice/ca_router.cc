#include "keyservice/ca_router.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mail/address.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {
namespace {

// True when issuing_der is the issuer of certificate_der (name and key id).
bool IssuedBy(const std::string& certificate_der, const std::string& issuing_der) {
  auto cert = ParseCertificateDer(certificate_der);
  auto issuer = ParseCertificateDer(issuing_der);
  if (!cert.ok() || !issuer.ok()) return false;
  return X509_check_issued(issuer->get(), cert->get()) == X509_V_OK;
}

}  // namespace

CaRouter::CaRouter(std::string default_backend, std::unique_ptr<CertificateAuthority> default_ca,
                   std::vector<Route> routes)
    : default_backend_(std::move(default_backend)),
      default_ca_(std::move(default_ca)),
      routes_(std::move(routes)) {}

CertificateAuthority& CaRouter::For(const std::string& address_or_domain) const {
  std::string domain = address_or_domain.find('@') == std::string::npos
                           ? mail::NormalizeDomain(address_or_domain).value_or("")
                           : mail::DomainOf(address_or_domain);
  for (const auto& r : routes_) {
    if (r.domain == domain) return *r.ca;
  }
  const std::string label = tenant_backend_ ? tenant_backend_(domain) : std::string();
  for (const auto& r : routes_) {
    if (!label.empty() && r.domain == label) return *r.ca;
  }
  return *default_ca_;
}

Result<IssuedCertificate> CaRouter::Issue(const IssueRequest& request) {
  return For(request.address).Issue(request);
}

Result<IssuedCertificate> CaRouter::Renew(const RenewRequest& request) {
  return For(request.request.address).Renew(request);
}

Status CaRouter::Revoke(const std::string& certificate_der, int reason) {
  for (const auto& r : routes_) {
    if (IssuedBy(certificate_der, r.ca->IssuingCertificateDer())) {
      return r.ca->Revoke(certificate_der, reason);
    }
  }
  return default_ca_->Revoke(certificate_der, reason);
}

Result<std::string> CaRouter::CrlDer() { return default_ca_->CrlDer(); }

std::string CaRouter::RootCertificateDer() const { return default_ca_->RootCertificateDer(); }

std::string CaRouter::IssuingCertificateDer() const {
  return default_ca_->IssuingCertificateDer();
}

bool CaRouter::RequiresDomainValidation(const std::string& domain) const {
  return For(domain).RequiresDomainValidation(domain);
}

std::vector<LabelledCa> CaRouter::AllCas() const {
  std::vector<LabelledCa> out;
  out.push_back(LabelledCa{"default", default_backend_, default_ca_->RootCertificateDer(),
                           default_ca_->IssuingCertificateDer()});
  for (const auto& r : routes_) {
    out.push_back(
        LabelledCa{r.domain, r.backend, r.ca->RootCertificateDer(), r.ca->IssuingCertificateDer()});
  }
  return out;
}

void CaRouter::CancelExchanges() {
  default_ca_->CancelExchanges();
  for (auto& r : routes_) r.ca->CancelExchanges();
}

Result<int> CaRouter::ResealKeys(const Kek& kek) {
  SG_ASSIGN_OR_RETURN(int total, default_ca_->ResealKeys(kek));
  for (auto& r : routes_) {
    SG_ASSIGN_OR_RETURN(int n, r.ca->ResealKeys(kek));
    total += n;
  }
  return total;
}

}  // namespace sg::keyservice
