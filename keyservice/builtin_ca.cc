#include "keyservice/builtin_ca.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "keyservice/builtin_ca_crl.h"
#include "keyservice/keyservice_x509.h"
#include "keyservice/x509_build.h"

namespace sg::keyservice {
namespace {

constexpr const char* kMetaCa = "ca/builtin";
constexpr const char* kAadRoot = "ca/builtin/root";
constexpr const char* kAadIssuing = "ca/builtin/issuing";
constexpr const char* kMetaRevoked = "ca/builtin/revoked";

Result<store::StoredRevocations> LoadRevocations(KeyStore& store) {
  store::StoredRevocations r;
  SG_ASSIGN_OR_RETURN(auto raw, store.GetMeta(kMetaRevoked));
  if (raw && !r.ParseFromString(*raw)) {
    return MakeError(ErrorCode::kCorruption, "keyservice store: the revocation record is broken");
  }
  return r;
}

std::string SerialBytes(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}
}  // namespace

Result<std::unique_ptr<BuiltinCa>> BuiltinCa::LoadOrCreate(KeyStore& store, const Kek& kek,
                                                           const CaConfig& config,
                                                           const Clock& clock) {
  std::unique_ptr<BuiltinCa> ca(new BuiltinCa());
  ca->store_ = &store;
  ca->config_ = config;
  ca->clock_ = &clock;
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

Result<int> BuiltinCa::ResealKeys(const Kek& kek) {
  SG_ASSIGN_OR_RETURN(auto raw, store_->GetMeta(kMetaCa));
  store::StoredCa stored;
  if (!raw || !stored.ParseFromString(*raw)) {
    return MakeError(ErrorCode::kCorruption, "keyservice store: built-in CA record is missing or broken");
  }
  if (kek.SealedUnderCurrent(stored.sealed_root_key()) &&
      kek.SealedUnderCurrent(stored.sealed_issuing_key())) {
    return 0;
  }
  SG_ASSIGN_OR_RETURN(std::string root, kek.Reseal(stored.sealed_root_key(), kAadRoot));
  SG_ASSIGN_OR_RETURN(std::string issuing, kek.Reseal(stored.sealed_issuing_key(), kAadIssuing));
  stored.set_sealed_root_key(root);
  stored.set_sealed_issuing_key(issuing);
  SG_RETURN_IF_ERROR(store_->PutMeta(kMetaCa, stored.SerializeAsString()));
  return 1;
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

Status BuiltinCa::Revoke(const std::string& certificate_der, int reason) {
  SG_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificateDer(certificate_der));
  if (X509_check_issued(issuing_.get(), cert.get()) != X509_V_OK ||
      X509_verify(cert.get(), X509_get0_pubkey(issuing_.get())) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     "the certificate " + SubjectText(cert.get()) + " was not issued by the built-in CA");
  }
  const std::string serial = SerialBytes(cert.get());
  std::lock_guard<std::mutex> lock(crl_mu_);
  SG_ASSIGN_OR_RETURN(store::StoredRevocations revoked, LoadRevocations(*store_));
  for (const auto& e : revoked.entries()) {
    if (e.serial() == serial) return OkStatus();  // revoked before: the first reason stands
  }
  store::StoredRevocation* e = revoked.add_entries();
  e->set_serial(serial);
  e->set_revoked_at(UnixSeconds(clock_->Now()));
  e->set_reason(reason);
  auto names = EmailAddresses(cert.get());
  if (!names.empty()) e->set_address(names.front());
  SG_RETURN_IF_ERROR(store_->PutMeta(kMetaRevoked, revoked.SerializeAsString()));
  return RemakeCrl();
}

Result<std::string> BuiltinCa::CrlDer() {
  std::lock_guard<std::mutex> lock(crl_mu_);
  if (crl_der_.empty() || clock_->Now() - crl_made_ > config_.crl_validity / 2) {
    SG_RETURN_IF_ERROR(RemakeCrl());
  }
  return crl_der_;
}

Status BuiltinCa::RemakeCrl() {
  SG_ASSIGN_OR_RETURN(store::StoredRevocations revoked, LoadRevocations(*store_));
  revoked.set_crl_number(revoked.crl_number() + 1);
  const auto now = clock_->Now();
  SG_ASSIGN_OR_RETURN(std::string der, MakeCrl(issuing_.get(), issuing_key_.get(), revoked, now,
                                                config_.crl_validity));
  SG_RETURN_IF_ERROR(store_->PutMeta(kMetaRevoked, revoked.SerializeAsString()));
  crl_der_ = std::move(der);
  crl_made_ = now;
  return OkStatus();
}

}  // namespace sg::keyservice
