#include "keyservice/x509_build.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace sg::keyservice {

const EVP_MD* DigestFor(EVP_PKEY* signer) {
  if (EVP_PKEY_get_base_id(signer) == EVP_PKEY_EC && EVP_PKEY_get_bits(signer) >= 384) {
    return EVP_sha384();
  }
  return EVP_sha256();
}

Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return MakeError(ErrorCode::kInternal, "extension " + std::string(OBJ_nid2sn(nid)) + "=" +
                                               value + ": " + OpenSslError());
  }
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return MakeError(ErrorCode::kInternal, "X509_add_ext: " + OpenSslError());
  return OkStatus();
}

Status AddPolicy(X509* cert, const char* oid) {
  CERTIFICATEPOLICIES* pols = sk_POLICYINFO_new_null();
  POLICYINFO* pi = POLICYINFO_new();
  ASN1_OBJECT_free(pi->policyid);
  pi->policyid = OBJ_txt2obj(oid, 1);
  sk_POLICYINFO_push(pols, pi);
  int ok = X509_add1_ext_i2d(cert, NID_certificate_policies, pols, 0, X509V3_ADD_DEFAULT);
  CERTIFICATEPOLICIES_free(pols);
  if (ok != 1) return MakeError(ErrorCode::kInternal, "certificatePolicies: " + OpenSslError());
  return OkStatus();
}

Status SetSerialAndValidity(X509* cert, std::chrono::system_clock::time_point now,
                            std::chrono::seconds validity) {
  unsigned char serial[20];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return MakeError(ErrorCode::kInternal, "RAND_bytes");
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x40;  // full length, never a leading zero byte
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  time_t t = std::chrono::system_clock::to_time_t(now);
  // Five minutes of back-dating absorb clock skew between us and relying parties.
  if (ASN1_TIME_set(X509_getm_notBefore(cert), t - 300) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), t + validity.count()) == nullptr) {
    return MakeError(ErrorCode::kInternal, "ASN1_TIME_set: " + OpenSslError());
  }
  return OkStatus();
}

Status SetName(X509_NAME* name, const std::string& org, const std::string& cn) {
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(org.c_str()), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "bad CA name: " + OpenSslError());
  }
  return OkStatus();
}

Result<X509Ptr> MakeCaCert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                           const std::string& org, const std::string& cn,
                           std::chrono::system_clock::time_point now, std::chrono::seconds validity,
                           bool intermediate) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  SG_RETURN_IF_ERROR(SetSerialAndValidity(cert.get(), now, validity));
  SG_RETURN_IF_ERROR(SetName(X509_get_subject_name(cert.get()), org, cn));
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer)
                                          : X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key);
  X509* signer_cert = issuer ? issuer : cert.get();
  EVP_PKEY* signer_key = issuer_key ? issuer_key : key;
  SG_RETURN_IF_ERROR(AddExt(cert.get(), signer_cert, NID_basic_constraints,
                            intermediate ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), signer_cert, NID_subject_key_identifier, "hash"));
  if (intermediate) {
    SG_RETURN_IF_ERROR(AddExt(cert.get(), signer_cert, NID_authority_key_identifier, "keyid:always"));
    SG_RETURN_IF_ERROR(AddExt(cert.get(), signer_cert, NID_ext_key_usage, "emailProtection"));
    SG_RETURN_IF_ERROR(AddPolicy(cert.get(), kPolicyMailboxStrict));
  }
  if (X509_sign(cert.get(), signer_key, DigestFor(signer_key)) <= 0) {
    return MakeError(ErrorCode::kInternal, "signing CA certificate: " + OpenSslError());
  }
  return cert;
}

}  // namespace sg::keyservice
