// CmpCa: certificates from a public CA over CMP (RFC 4210 with the RFC
// 9480 updates, Lightweight CMP profile RFC 9483), with OpenSSL's CMP
// client (OSSL_CMP_CTX).
//
//   Issue   ir: a certificate for a key the keyservice generated. The
//           request carries subject CN=<address>, the rfc822Name SAN, EKU
//           emailProtection and key usage by key type, and is signed with
//           the new key (proof of possession; the key never leaves the
//           process). Protected by the shared secret (MAC) or the gateway's
//           client certificate (keyservice.ca.cmp.protection).
//   Renew   kur: the same for a new key, signed with the certificate being
//           replaced and its key (RFC 9483 4.1.3); the CA's response must
//           be signed by the pinned server certificate or chain to the root.
//           A certificate our issuing CA did not issue (an imported key)
//           is replaced by a fresh ir instead.
//   Revoke  rr with a CRLReason.
// A delayed issuance ("waiting") is polled by OpenSSL within
// total_timeout. Every certificate the CA returns is checked before it is
// confirmed (certConf): for our key (OpenSSL), for the requested address,
// EKU emailProtection, and a chain through the pinned issuing CA to the
// pinned root; otherwise it is rejected in the certConf and Issue fails.
//
// Errors: kUnavailable (no answer within the timeouts, or still pending:
// retry later), kPermissionDenied (the CA refused: its PKIStatus text),
// kCorruption (the CA returned a certificate that fails the checks above),
// kInvalidArgument (a malformed request: bad public key, key missing).
//
// Threading: thread-safe; each call builds its own OSSL_CMP_CTX and blocks
// for at most total_timeout (CancelExchanges ends it sooner at shutdown), so it must run on a keyservice RPC thread
// (it does: the gRPC sync server's pool), never on an event loop.
#pragma once

#include <memory>

#include "keyservice/certificate_authority.h"
#include "keyservice/cmp_cancel.h"
#include "keyservice/cmp_context.h"
#include "keyservice/keyservice_config.h"

namespace sg::keyservice {

class CmpCa : public CertificateAuthority {
 public:
  // Loads the pinned certificates and the protection credentials; nothing
  // is sent to the CA until the first Issue.
  static Result<std::unique_ptr<CmpCa>> Open(const CmpConfig& config);

  Result<IssuedCertificate> Issue(const IssueRequest& request) override;
  Result<IssuedCertificate> Renew(const RenewRequest& request) override;
  Status Revoke(const std::string& certificate_der, int reason) override;
  // Shuts down the connections of exchanges in progress (cmp_cancel.h).
  void CancelExchanges() override { canceller_->Cancel(); }
  std::string RootCertificateDer() const override { return root_der_; }
  std::string IssuingCertificateDer() const override { return issuing_der_; }
  // A public CA: only for validated domains (domain_validation.h).
  bool RequiresDomainValidation(const std::string& domain) const override {
    (void)domain;
    return true;
  }

 private:
  CmpCa() = default;
  Result<IssuedCertificate> Enroll(int request_type, const IssueRequest& request,
                                   const RenewRequest* renew);

  CmpConfig config_;
  CmpCredentials credentials_;
  std::string root_der_;
  std::string issuing_der_;
  std::unique_ptr<CmpCanceller> canceller_ = std::make_unique<CmpCanceller>();
};

}  // namespace sg::keyservice
