#include "keyservice/internal_ca.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "keyservice/rpc_role_egress.h"
#include "keyservice/rpc_role_portal.h"
#include "keyservice/x509_build.h"

namespace sg::keyservice {
namespace {

constexpr const char* kMetaInternalCa = "pki/internal_ca";
constexpr const char* kAad = "pki/internal_ca";

bool PrintableName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::string RoleUri(const std::string& trust_domain, const std::string& role) {
  return "spiffe://" + trust_domain + "/" + role;
}

Result<std::unique_ptr<InternalCa>> InternalCa::LoadOrCreate(KeyStore& store, const Kek& kek,
                                                             const Clock& clock,
                                                             const std::string& trust_domain) {
  std::unique_ptr<InternalCa> ca(new InternalCa());
  ca->store_ = &store;
  ca->clock_ = &clock;
  ca->trust_domain_ = trust_domain;
  SG_ASSIGN_OR_RETURN(auto raw, store.GetMeta(kMetaInternalCa));
  store::StoredInternalCa stored;
  if (raw) {
    if (!stored.ParseFromString(*raw)) {
      return MakeError(ErrorCode::kCorruption, "keyservice store: internal CA record is broken");
    }
  } else {
    SG_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey(KeyType::kEcdsaP256));
    SG_ASSIGN_OR_RETURN(X509Ptr cert,
                        MakeCaCert(key.get(), nullptr, nullptr, "smimegate",
                                   "smimegate internal CA (" + trust_domain + ")", clock.Now(),
                                   std::chrono::hours(24 * 365 * 20), false));
    SG_ASSIGN_OR_RETURN(std::string key_der, PrivateKeyToDer(key.get()));
    SG_ASSIGN_OR_RETURN(std::string cert_der, CertificateToDer(cert.get()));
    stored.set_certificate_der(cert_der);
    stored.set_sealed_key(kek.Seal(key_der, kAad));
    stored.set_trust_domain(trust_domain);
    OPENSSL_cleanse(key_der.data(), key_der.size());
    SG_RETURN_IF_ERROR(store.PutMeta(kMetaInternalCa, stored.SerializeAsString()));
  }
  SG_ASSIGN_OR_RETURN(ca->cert_, ParseCertificateDer(stored.certificate_der()));
  SG_ASSIGN_OR_RETURN(std::string key_der, kek.Open(stored.sealed_key(), kAad));
  auto key = ParsePrivateKeyDer(key_der);
  OPENSSL_cleanse(key_der.data(), key_der.size());
  if (!key.ok()) return key.error();
  ca->key_ = std::move(*key);
  return ca;
}

std::string InternalCa::CaPem() const { return CertificateToPem(cert_.get()); }

Result<X509Ptr> InternalCa::NewLeaf(EVP_PKEY* key, const std::string& cn,
                                    std::chrono::hours validity) const {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  SG_RETURN_IF_ERROR(SetSerialAndValidity(cert.get(), clock_->Now(),
                                          std::chrono::duration_cast<std::chrono::seconds>(validity)));
  SG_RETURN_IF_ERROR(SetName(X509_get_subject_name(cert.get()), "smimegate", cn));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get()));
  X509_set_pubkey(cert.get(), key);
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_key_usage, "critical,digitalSignature"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_subject_key_identifier, "hash"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always"));
  return cert;
}

Result<TlsIdentity> InternalCa::IssueServer(const std::string& server_name,
                                            std::chrono::hours validity) const {
  SG_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey(KeyType::kEcdsaP256));
  SG_ASSIGN_OR_RETURN(X509Ptr cert, NewLeaf(key.get(), server_name, validity));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth"));
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_subject_alt_name,
                            "DNS:" + server_name + ",URI:" + RoleUri(trust_domain_, "keyservice")));
  if (X509_sign(cert.get(), key_.get(), DigestFor(key_.get())) <= 0) {
    return MakeError(ErrorCode::kInternal, "signing the server certificate: " + OpenSslError());
  }
  TlsIdentity id;
  id.cert_chain_pem = CertificateToPem(cert.get());
  id.private_key_pem = PrivateKeyToPem(key.get());
  return id;
}

Result<std::string> InternalCa::IssueClient(const std::string& role, const std::string& name,
                                            const std::string& public_key_der,
                                            std::chrono::hours validity) const {
  if (!PrintableName(name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "credentials name must be 1-64 printable ASCII characters");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(public_key_der.data());
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())));
  if (!pub) {
    return MakeError(ErrorCode::kInvalidArgument, "not a SubjectPublicKeyInfo: " + OpenSslError());
  }
  SG_ASSIGN_OR_RETURN(X509Ptr cert, NewLeaf(pub.get(), name, validity));
  // An egress serves its queue, a portal its stored messages, to admins with
  // the same identity (egress.admin, portal.admin).
  const bool server = role == kRoleEgress || role == kRolePortal;
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_ext_key_usage,
                            server ? "serverAuth,clientAuth" : "clientAuth"));
  std::string san = "URI:" + RoleUri(trust_domain_, role);
  if (server) {
    const std::string_view dns = role == kRoleEgress ? kEgressServerName : kPortalServerName;
    san = "DNS:" + std::string(dns) + "," + san;
  }
  SG_RETURN_IF_ERROR(AddExt(cert.get(), cert_.get(), NID_subject_alt_name, san));
  if (X509_sign(cert.get(), key_.get(), DigestFor(key_.get())) <= 0) {
    return MakeError(ErrorCode::kInternal, "signing the client certificate: " + OpenSslError());
  }
  return CertificateToPem(cert.get());
}

Result<int> InternalCa::ResealKeys(const Kek& kek) {
  SG_ASSIGN_OR_RETURN(auto raw, store_->GetMeta(kMetaInternalCa));
  store::StoredInternalCa stored;
  if (!raw || !stored.ParseFromString(*raw)) {
    return MakeError(ErrorCode::kCorruption, "keyservice store: internal CA record is missing or broken");
  }
  if (kek.SealedUnderCurrent(stored.sealed_key())) return 0;
  SG_ASSIGN_OR_RETURN(std::string sealed, kek.Reseal(stored.sealed_key(), kAad));
  stored.set_sealed_key(sealed);
  SG_RETURN_IF_ERROR(store_->PutMeta(kMetaInternalCa, stored.SerializeAsString()));
  return 1;
}

}  // namespace sg::keyservice
