#include "keyservice/cmp_request.h"

#include <openssl/cmperr.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace sg::keyservice {
namespace {

Status AddExtensions(OSSL_CMP_CTX* ctx, const std::string& address, bool rsa) {
  X509_EXTENSIONS* exts = sk_X509_EXTENSION_new_null();
  GENERAL_NAMES* san = GENERAL_NAMES_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* email = ASN1_IA5STRING_new();
  EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
  ASN1_BIT_STRING* ku = ASN1_BIT_STRING_new();
  bool ok = exts && san && name && email && eku && ku &&
            ASN1_STRING_set(email, address.data(), static_cast<int>(address.size())) == 1;
  if (ok) {
    GENERAL_NAME_set0_value(name, GEN_EMAIL, email);
    email = nullptr;
    ok = sk_GENERAL_NAME_push(san, name) > 0;
    if (ok) name = nullptr;
  }
  ok = ok && sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_email_protect)) > 0 &&
       ASN1_BIT_STRING_set_bit(ku, 0, 1) == 1 &&           // digitalSignature
       ASN1_BIT_STRING_set_bit(ku, rsa ? 2 : 4, 1) == 1 &&  // keyEncipherment | keyAgreement
       X509V3_add1_i2d(&exts, NID_subject_alt_name, san, 0, X509V3_ADD_DEFAULT) == 1 &&
       X509V3_add1_i2d(&exts, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1 &&
       X509V3_add1_i2d(&exts, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1 &&
       OSSL_CMP_CTX_set0_reqExtensions(ctx, exts) == 1;
  if (ok) exts = nullptr;
  ASN1_IA5STRING_free(email);
  GENERAL_NAME_free(name);
  GENERAL_NAMES_free(san);
  sk_ASN1_OBJECT_free(eku);  // the objects are static (OBJ_nid2obj)
  ASN1_BIT_STRING_free(ku);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (!ok) return MakeError(ErrorCode::kInternal, "CMP request extensions: " + OpenSslError());
  return OkStatus();
}

// The certConf callback: OpenSSL has already compared the key (fail_info
// bit incorrectData); we check address, EKU and chain.
int CheckIssued(OSSL_CMP_CTX* ctx, X509* cert, int fail_info, const char** text) {
  auto* check = static_cast<CmpIssuedCheck*>(OSSL_CMP_CTX_get_certConf_cb_arg(ctx));
  if (fail_info != 0) {
    check->problem = "the certificate is not for the key we sent";
    return fail_info;
  }
  auto names = EmailAddresses(cert);
  if (std::find(names.begin(), names.end(), check->address) == names.end()) {
    check->problem = "the certificate does not name " + check->address;
  } else if ((X509_get_extended_key_usage(cert) & XKU_SMIME) == 0) {
    check->problem = "the certificate lacks EKU emailProtection";
  } else {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, check->credentials->root.get());
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, check->credentials->issuing.get());
    X509_STORE_CTX* sctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(sctx, store, cert, untrusted);
    X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_SMIME_SIGN);
    X509_STORE_CTX_set_time(sctx, 0, std::chrono::system_clock::to_time_t(check->now));
    if (X509_verify_cert(sctx) != 1) {
      check->problem = std::string("the certificate does not chain to the pinned root: ") +
                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx));
    }
    X509_STORE_CTX_free(sctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    OpenSslError();
  }
  if (check->problem.empty()) return 0;
  *text = check->problem.c_str();
  return 1 << OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
}

}  // namespace

Status SetCertTemplate(OSSL_CMP_CTX* ctx, const IssueRequest& request) {
  const auto* p = reinterpret_cast<const unsigned char*>(request.public_key_der.data());
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(request.public_key_der.size())));
  if (!pub) {
    OpenSslError();
    return MakeError(ErrorCode::kInvalidArgument, "CMP request: the public key is not DER SubjectPublicKeyInfo");
  }
  if (request.key == nullptr || EVP_PKEY_eq(pub.get(), request.key) != 1) {
    OpenSslError();
    return MakeError(ErrorCode::kInvalidArgument,
                     "CMP request: the private key of the public key is needed for proof of possession");
  }
  X509_NAME* subject = X509_NAME_new();
  bool ok = subject != nullptr &&
            X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(request.address.c_str()),
                                       -1, -1, 0) == 1 &&
            OSSL_CMP_CTX_set1_subjectName(ctx, subject) == 1 && EVP_PKEY_up_ref(request.key) == 1;
  X509_NAME_free(subject);
  if (!ok || OSSL_CMP_CTX_set0_newPkey(ctx, 1, request.key) != 1) {
    return MakeError(ErrorCode::kInternal, "CMP request template: " + OpenSslError());
  }
  return AddExtensions(ctx, request.address, IsRsa(request.key));
}

Status InstallIssuedCheck(OSSL_CMP_CTX* ctx, CmpIssuedCheck* check) {
  if (OSSL_CMP_CTX_set_certConf_cb(ctx, CheckIssued) != 1 ||
      OSSL_CMP_CTX_set_certConf_cb_arg(ctx, check) != 1) {
    return MakeError(ErrorCode::kInternal, "CMP certConf callback: " + OpenSslError());
  }
  return OkStatus();
}

Error CmpFailure(OSSL_CMP_CTX* ctx, const CmpIssuedCheck* check, const std::string& what) {
  // An answer whose protection fails: a wrong shared secret or server
  // certificate, not an outage (retrying does not help).
  bool protection = false;
  std::string detail;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    int reason = ERR_GET_REASON(e);
    if (ERR_GET_LIB(e) == ERR_LIB_CMP &&
        (reason == CMP_R_WRONG_PBM_VALUE || reason == CMP_R_ERROR_VALIDATING_PROTECTION ||
         reason == CMP_R_ERROR_VALIDATING_SIGNATURE)) {
      protection = true;
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    detail += (detail.empty() ? "" : "; ") + std::string(buf);
  }
  if (check != nullptr && !check->problem.empty()) {
    return Error{ErrorCode::kCorruption, "CMP " + what + ": refused the CA's answer: " + check->problem};
  }
  int status = OSSL_CMP_CTX_get_status(ctx);
  char buf[512];
  if (status == OSSL_CMP_PKISTATUS_rejection) {
    const char* text = OSSL_CMP_CTX_snprint_PKIStatus(ctx, buf, sizeof(buf));
    return Error{ErrorCode::kPermissionDenied,
                 "CMP " + what + ": the CA refused the request: " + (text ? text : "rejection")};
  }
  if (protection) {
    return Error{ErrorCode::kPermissionDenied,
                 "CMP " + what + ": the CA's answer failed protection validation (check the shared "
                 "secret and reference, or the pinned server certificate): " + detail};
  }
  if (status == OSSL_CMP_PKISTATUS_waiting) {
    return Error{ErrorCode::kUnavailable, "CMP " + what + ": still pending at the CA after total_timeout"};
  }
  return Error{ErrorCode::kUnavailable,
               "CMP " + what + ": no valid answer from the CA (" + (detail.empty() ? "unknown" : detail) + ")"};
}

}  // namespace sg::keyservice
