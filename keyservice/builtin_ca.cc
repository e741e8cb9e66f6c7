#include "keyservice/builtin_ca.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace sg::keyservice {
namespace {

constexpr const char* kMetaCa = "ca/builtin";
constexpr const char* kAadRoot = "ca/builtin/root";
constexpr const char* kAadIssuing = "ca/builtin/issuing";
// CA/B Forum S/MIME BR: mailbox-validated, strict.
constexpr const char* kPolicyMailboxStrict = "2.23.140.1.5.1.3";

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

// Built directly: the config-string form of certificatePolicies wants a
// config database for anything but the simplest values.
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

// A CA certificate for `key`, signed by `issuer`/`issuer_key` (self-signed when null).
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

}  // namespace

Result<std::unique_ptr<BuiltinCa>> BuiltinCa::LoadOrCreate(KeyStore& store, const Kek& kek,
                                                           const CaConfig& config,
                                                           const Clock& clock) {
  std::unique_ptr<BuiltinCa> ca(new BuiltinCa());
  ca->config_ = config;
  SG_ASSIGN_OR_RETURN(auto raw, store.GetMeta(kMetaCa));
  store::StoredCa stored;
  if (raw) {
    if (!stored.ParseFromString(*raw)) {
      return MakeError(ErrorCode::kCorruption, "keyservice store: built-in CA record is broken");
    }
  } else {
    auto now = clock.Now();
    SG_ASSIGN_OR_RETURN(PkeyPtr root_key, GenerateKey(config.key_type));
    SG_ASSIGN_OR_RETURN(PkeyPtr issuing_key, GenerateKey(config.key_type));
    SG_ASSIGN_OR_RETURN(
        X509Ptr root, MakeCaCert(root_key.get(), nullptr, nullptr, config.organization,
                                 config.organization + " S/MIME Root CA", now,
                                 std::chrono::hours(24 * 365 * 20), false));
    SG_ASSIGN_OR_RETURN(
        X509Ptr issuing,
        MakeCaCert(issuing_key.get(), root.get(), root_key.get(), config.organization,
                   config.organization + " S/MIME Issuing CA", now,
                   std::chrono::hours(24 * 365 * 10), true));
    SG_ASSIGN_OR_RETURN(std::string root_der, CertificateToDer(root.get()));
    SG_ASSIGN_OR_RETURN(std::string issuing_der, CertificateToDer(issuing.get()));
    SG_ASSIGN_OR_RETURN(std::string root_key_der, PrivateKeyToDer(root_key.get()));
    SG_ASSIGN_OR_RETURN(std::string issuing_key_der, PrivateKeyToDer(issuing_key.get()));
    stored.set_root_der(root_der);
    stored.set_issuing_der(issuing_der);
    stored.set_sealed_root_key(kek.Seal(root_key_der, kAadRoot));
    stored.set_sealed_issuing_key(kek.Seal(issuing_key_der, kAadIssuing));
    OPENSSL_cleanse(root_key_der.data(), root_key_der.size());
    OPENSSL_cleanse(issuing_key_der.data(), issuing_key_der.size());
    SG_RETURN_IF_ERROR(store.PutMeta(kMetaCa, stored.SerializeAsString()));
  }
  ca->root_der_ = stored.root_der();
  ca->issuing_der_ = stored.issuing_der();
  SG_ASSIGN_OR_RETURN(ca->issuing_, ParseCertificateDer(stored.issuing_der()));
  SG_ASSIGN_OR_RETURN(std::string key_der, kek.Open(stored.sealed_issuing_key(), kAadIssuing));
  auto key = ParsePrivateKeyDer(key_der);
  OPENSSL_cleanse(key_der.data(), key_der.size());
  if (!key.ok()) return std::move(key).error();
  ca->issuing_key_ = std::move(*key);
  return ca;
}

Result<IssuedCertificate> BuiltinCa::Issue(const IssueRequest& request) {
  const auto* p = reinterpret_cast<const unsigned char*>(request.public_key_der.data());
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(request.public_key_der.size())));
  if (!pub) {
    return MakeError(ErrorCode::kInvalidArgument, "not a SubjectPublicKeyInfo: " + OpenSslError());
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  SG_RETURN_IF_ERROR(SetSerialAndValidity(
      cert.get(), request.now, std::chrono::duration_cast<std::chrono::seconds>(config_.validity)));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto* addr = reinterpret_cast<const unsigned char*>(request.address.c_str());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, addr, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_NID(subject, NID_pkcs9_emailAddress, MBSTRING_ASC, addr, -1, -1, 0) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "address \"" + request.address + "\" cannot be put in a certificate: " +
                         OpenSslError());
  }
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuing_.get()));
  X509_set_pubkey(cert.get(), pub.get());
  X509* ca = issuing_.get();
  SG_RETURN_IF_ERROR(AddExt(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), ca, NID_key_usage,
                            IsRsa(pub.get()) ? "critical,digitalSignature,keyEncipherment"
                                             : "critical,digitalSignature,keyAgreement"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), ca, NID_ext_key_usage, "emailProtection"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), ca, NID_subject_alt_name, "email:" + request.address));
  SG_RETURN_IF_ERROR(AddPolicy(cert.get(), kPolicyMailboxStrict));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), ca, NID_subject_key_identifier, "hash"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), ca, NID_authority_key_identifier, "keyid:always"));
  if (!config_.crl_url.empty()) {
    SG_RETURN_IF_ERROR(AddExt(cert.get(), ca, NID_crl_distribution_points, "URI:" + config_.crl_url));
  }
  if (X509_sign(cert.get(), issuing_key_.get(), DigestFor(issuing_key_.get())) <= 0) {
    return MakeError(ErrorCode::kInternal, "signing certificate: " + OpenSslError());
  }
  IssuedCertificate out;
  SG_ASSIGN_OR_RETURN(out.certificate_der, CertificateToDer(cert.get()));
  out.chain_der.push_back(issuing_der_);
  return out;
}

}  // namespace sg::keyservice
