#include "keyservice/cmp_ca.h"

#include "keyservice/cmp_request.h"

namespace sg::keyservice {

Result<std::unique_ptr<CmpCa>> CmpCa::Open(const CmpConfig& config) {
  std::unique_ptr<CmpCa> ca(new CmpCa());
  ca->config_ = config;
  SG_ASSIGN_OR_RETURN(ca->credentials_, LoadCmpCredentials(config));
  SG_ASSIGN_OR_RETURN(ca->root_der_, CertificateToDer(ca->credentials_.root.get()));
  SG_ASSIGN_OR_RETURN(ca->issuing_der_, CertificateToDer(ca->credentials_.issuing.get()));
  return ca;
}

Result<IssuedCertificate> CmpCa::Issue(const IssueRequest& request) {
  return Enroll(OSSL_CMP_IR, request, nullptr);
}

Result<IssuedCertificate> CmpCa::Renew(const RenewRequest& request) {
  // A key from elsewhere (imported, or from a previous backend) is not the
  // CA's to update: a fresh ir.
  auto old_cert = ParseCertificateDer(request.old_certificate_der);
  if (!old_cert.ok() || X509_check_issued(credentials_.issuing.get(), old_cert->get()) != X509_V_OK) {
    return Enroll(OSSL_CMP_IR, request.request, nullptr);
  }
  return Enroll(OSSL_CMP_KUR, request.request, &request);
}

Result<IssuedCertificate> CmpCa::Enroll(int request_type, const IssueRequest& request,
                                        const RenewRequest* renew) {
  const char* what = request_type == OSSL_CMP_KUR ? "kur" : "ir";
  CmpExchangeGuard exchange(*canceller_);  // outlives ctx (cmp_cancel.h)
  SG_ASSIGN_OR_RETURN(CmpCtxPtr ctx,
                      NewCmpContext(config_, credentials_,
                                    renew ? CmpProtection::kOldKey : CmpProtection::kConfigured));
  SG_RETURN_IF_ERROR(exchange.Install(ctx.get()));
  SG_RETURN_IF_ERROR(SetCertTemplate(ctx.get(), request));
  if (renew != nullptr) {
    SG_ASSIGN_OR_RETURN(X509Ptr old_cert, ParseCertificateDer(renew->old_certificate_der));
    if (renew->old_key == nullptr || !CertificateMatchesKey(old_cert.get(), renew->old_key)) {
      return MakeError(ErrorCode::kInvalidArgument, "CMP kur: the old key does not match the old certificate");
    }
    if (OSSL_CMP_CTX_set1_oldCert(ctx.get(), old_cert.get()) != 1 ||
        OSSL_CMP_CTX_set1_cert(ctx.get(), old_cert.get()) != 1 ||
        OSSL_CMP_CTX_set1_pkey(ctx.get(), renew->old_key) != 1) {
      return MakeError(ErrorCode::kInternal, "CMP kur: " + OpenSslError());
    }
  }
  CmpIssuedCheck check{request.address, &credentials_, request.now, ""};
  SG_RETURN_IF_ERROR(InstallIssuedCheck(ctx.get(), &check));
  X509* cert = OSSL_CMP_exec_certreq(ctx.get(), request_type, nullptr);
  if (cert == nullptr) return CmpFailure(ctx.get(), &check, what);
  IssuedCertificate out;
  SG_ASSIGN_OR_RETURN(out.certificate_der, CertificateToDer(cert));
  out.chain_der.push_back(issuing_der_);
  return out;
}

Status CmpCa::Revoke(const std::string& certificate_der, int reason) {
  SG_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificateDer(certificate_der));
  CmpExchangeGuard exchange(*canceller_);  // outlives ctx (cmp_cancel.h)
  SG_ASSIGN_OR_RETURN(CmpCtxPtr ctx, NewCmpContext(config_, credentials_, CmpProtection::kConfigured));
  SG_RETURN_IF_ERROR(exchange.Install(ctx.get()));
  if (OSSL_CMP_CTX_set1_oldCert(ctx.get(), cert.get()) != 1 ||
      OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_REVOCATION_REASON, reason) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "CMP rr: " + OpenSslError());
  }
  if (OSSL_CMP_exec_RR_ses(ctx.get()) != 1) return CmpFailure(ctx.get(), nullptr, "rr");
  OpenSslError();
  return OkStatus();
}

}  // namespace sg::keyservice
