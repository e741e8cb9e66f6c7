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
// Revocation: Revoke records the serial, time and reason in the store
// (meta "ca/builtin/revoked") and makes a new CRL at once; CrlDer returns
// the current CRL (builtin_ca_crl.h), made again when half of its
// validity (keyservice.ca.crl_next_update) has passed. Issued certificates
// name keyservice.ca.crl_url as their CRL distribution point. No OCSP.
//
// Threading: Issue is thread-safe (the keys are immutable after creation);
// Revoke and CrlDer serialise on one mutex.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

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
  // kInvalidArgument when the certificate is not from this CA's issuing CA.
  Status Revoke(const std::string& certificate_der, int reason) override;
  Result<std::string> CrlDer() override;

 private:
  BuiltinCa() = default;
  // A new CRL from the stored revocations (crl_mu_ held).
  Status RemakeCrl();
  KeyStore* store_ = nullptr;  // borrowed; outlives the CA (KeyServiceImpl owns both)
  CaConfig config_;
  X509Ptr issuing_;
  PkeyPtr issuing_key_;
  std::string root_der_;
  std::string issuing_der_;
  const Clock* clock_ = nullptr;
  std::mutex crl_mu_;
  std::string crl_der_;
  std::chrono::system_clock::time_point crl_made_{};
};

}  // namespace sg::keyservice
