// BuiltinCa: the embedded certificate authority. On first start it creates a
// root and an issuing intermediate (keys sealed under the KEK in the store's
// meta column family) and from then on issues S/MIME certificates in the
// mailbox-validated *strict* profile of the CA/Browser Forum S/MIME Baseline
// Requirements (7.1.2.3): subject CN and emailAddress = the mailbox,
// rfc822Name SAN, EKU emailProtection only, key usage by key type (RSA:
// digitalSignature + keyEncipherment; ECDSA: digitalSignature +
// keyAgreement), certificatePolicies 2.23.140.1.5.1.3, random 160-bit
// serial, the configured validity (one year by default), SHA-256 (SHA-384
// for P-384 issuers).
//
// Not yet: CRL / OCSP services (a CRL URL can be configured, but nothing
// serves it) — see docs/keyservice.md.
//
// Threading: Issue is thread-safe (the keys are immutable after creation).
#pragma once

#include <memory>

#include "keyservice/certificate_authority.h"
#include "keyservice/kek.h"
#include "keyservice/key_store.h"
#include "common/clock.h"
#include "keyservice/keyservice_config.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

class BuiltinCa : public CertificateAuthority {
 public:
  // Loads the CA from the store, creating it when absent.
  static Result<std::unique_ptr<BuiltinCa>> LoadOrCreate(KeyStore& store, const Kek& kek,
                                                         const CaConfig& config,
                                                         const Clock& clock);

  Result<IssuedCertificate> Issue(const IssueRequest& request) override;
  std::string RootCertificateDer() const override { return root_der_; }
  std::string IssuingCertificateDer() const override { return issuing_der_; }
  Result<int> ResealKeys(const Kek& kek) override;

 private:
  BuiltinCa() = default;
  KeyStore* store_ = nullptr;  // borrowed; outlives the CA (KeyServiceImpl owns both)
  CaConfig config_;
  X509Ptr issuing_;
  PkeyPtr issuing_key_;
  std::string root_der_;
  std::string issuing_der_;
};

}  // namespace sg::keyservice
