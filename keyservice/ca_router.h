// CaRouter: the CertificateAuthority of a gateway whose hosted domains get
// their certificates from different backends (keyservice.ca.domains,
// docs/keyservice.md "Per-domain CA backends").
//
// Issue and Renew go to the backend of the request address's domain
// (normalised with common/mail, so "User@Example.COM" routes like
// "example.com"); domains without an entry use the default backend.
// Revoke goes to the backend whose issuing CA issued the certificate (the
// default when none did). CrlDer is the default backend's (the CRL
// /ca.crl serves; CMP CAs publish their own). RootCertificateDer / IssuingCertificateDer are
// the default backend's; AllCas lists every backend, the default labelled
// "default" and the others by domain. ResealKeys and CancelExchanges run
// on every backend.
//
// Per-tenant CA (docs/tenants.md "Policy"): a domain without its own
// keyservice.ca.domains entry goes to the backend its tenant's policy names
// (ca_backend: "default" or a keyservice.ca.domains key), asked through
// the TenantBackend lookup at every Issue / Renew, so a policy change
// applies to the next certificate without a restart. The domain's own
// entry is more specific and wins; an unknown label falls back to the
// default backend.
//
// Threading: as thread-safe as the backends and the lookup (the routing
// table is fixed at construction, the lookup set once before use). Owns the
// backends.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "keyservice/certificate_authority.h"

namespace sg::keyservice {

class CaRouter final : public CertificateAuthority {
 public:
  struct Route {
    std::string domain;   // normalised
    std::string backend;  // its name, for AllCas
    std::unique_ptr<CertificateAuthority> ca;
  };

  // A domain's tenant's CA label ("" = none); may block on the store.
  using TenantBackend = std::function<std::string(const std::string& domain)>;

  CaRouter(std::string default_backend, std::unique_ptr<CertificateAuthority> default_ca,
           std::vector<Route> routes);

  // Once, before the first Issue (KeyServiceImpl::Open).
  void SetTenantBackend(TenantBackend lookup) { tenant_backend_ = std::move(lookup); }

  Result<IssuedCertificate> Issue(const IssueRequest& request) override;
  Result<IssuedCertificate> Renew(const RenewRequest& request) override;
  Status Revoke(const std::string& certificate_der, int reason) override;
  Result<std::string> CrlDer() override;
  std::string RootCertificateDer() const override;
  std::string IssuingCertificateDer() const override;
  bool RequiresDomainValidation(const std::string& domain) const override;
  std::vector<LabelledCa> AllCas() const override;
  Result<int> ResealKeys(const Kek& kek) override;
  void CancelExchanges() override;  // every backend's

  // The backend for an address's or a domain's domain (tests, routing).
  CertificateAuthority& For(const std::string& address_or_domain) const;

 private:
  std::string default_backend_;
  std::unique_ptr<CertificateAuthority> default_ca_;
  std::vector<Route> routes_;
  TenantBackend tenant_backend_;
};

}  // namespace sg::keyservice
