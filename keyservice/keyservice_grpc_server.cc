#include "keyservice/keyservice_grpc_server.h"

#include <algorithm>

#include "keyservice/keyservice_grpc_status.h"

namespace sg::keyservice {
namespace {

void FillInfo(const CertificateInfo& c, pb::CertificateInfo* out) {
  out->set_fingerprint(c.fingerprint);
  out->set_owner(c.owner);
  out->set_kind(c.kind);
  out->set_subject(c.subject);
  out->set_issuer(c.issuer);
  out->set_not_before(c.not_before);
  out->set_not_after(c.not_after);
  out->set_has_private_key(c.has_private_key);
  out->set_current(c.current);
  out->set_der(c.der);
  out->set_origin(c.origin);
}

void FillTrustAdd(const TrustAddResult& r, pb::TrustAddResponse* out) {
  for (const auto& f : r.fingerprints) out->add_fingerprints(f);
  out->set_promoted_pending(r.promoted_pending);
}

}  // namespace

#define SG_GRPC_ASSIGN(decl, expr)                         \
  auto SG_CONCAT_(grpc_r_, __LINE__) = (expr);             \
  if (!SG_CONCAT_(grpc_r_, __LINE__).ok())                 \
    return ToGrpc(SG_CONCAT_(grpc_r_, __LINE__).error());  \
  decl = std::move(SG_CONCAT_(grpc_r_, __LINE__)).value()

#define SG_GRPC_CHECK(expr)                  \
  do {                                       \
    auto st_ = (expr);                       \
    if (!st_.ok()) return ToGrpc(st_.error()); \
  } while (0)

grpc::Status KeyServiceGrpc::GetSigningIdentity(grpc::ServerContext*, const pb::AddressRequest* req,
                                                pb::SigningIdentityResponse* resp) {
  SG_GRPC_ASSIGN(auto id, impl_.GetSigningIdentity(req->address()));
  resp->set_participating(id.has_value());
  if (id) {
    auto* o = resp->mutable_identity();
    o->set_address(id->address);
    o->set_key_id(id->key_id);
    o->set_private_key_der(id->private_key_der);
    o->set_certificate_der(id->certificate_der);
    for (const auto& c : id->chain_der) o->add_chain_der(c);
  }
  return grpc::Status::OK;
}

grpc::Status KeyServiceGrpc::GetEncryptionCertificate(grpc::ServerContext*,
                                                      const pb::AddressRequest* req,
                                                      pb::EncryptionCertificateResponse* resp) {
  SG_GRPC_ASSIGN(auto cert, impl_.GetEncryptionCertificate(req->address()));
  resp->set_found(cert.has_value());
  if (cert) {
    auto* o = resp->mutable_certificate();
    o->set_owner(cert->owner);
    o->set_certificate_der(cert->certificate_der);
    o->set_smime_capabilities_der(cert->smime_capabilities_der);
    o->set_domain_certificate(cert->domain_certificate);
    for (const auto& c : cert->capabilities) o->add_capabilities(c);
    o->set_domain_certificate_der(cert->domain_certificate_der);
    for (const auto& c : cert->domain_capabilities) o->add_domain_capabilities(c);
  }
  return grpc::Status::OK;
}

grpc::Status KeyServiceGrpc::GetDecryptionKeys(grpc::ServerContext*, const pb::AddressRequest* req,
                                               pb::DecryptionKeysResponse* resp) {
  SG_GRPC_ASSIGN(auto keys, impl_.GetDecryptionKeys(req->address()));
  for (const auto& k : keys) {
    auto* o = resp->add_keys();
    o->set_key_id(k.key_id);
    o->set_owner(k.owner);
    o->set_private_key_der(k.private_key_der);
    o->set_certificate_der(k.certificate_der);
  }
  return grpc::Status::OK;
}

grpc::Status KeyServiceGrpc::Participates(grpc::ServerContext*, const pb::AddressRequest* req,
                                          pb::ParticipatesResponse* resp) {
  SG_GRPC_ASSIGN(bool p, impl_.Participates(req->address()));
  resp->set_participating(p);
  return grpc::Status::OK;
}

grpc::Status KeyServiceGrpc::HarvestCertificate(grpc::ServerContext*, const pb::HarvestRequest* req,
                                                pb::HarvestResponse* resp) {
  HarvestRequest h;
  h.address = req->address();
  h.certificate_der = req->certificate_der();
  h.chain_der.assign(req->chain_der().begin(), req->chain_der().end());
  h.smime_capabilities_der = req->smime_capabilities_der();
  h.capabilities.assign(req->capabilities().begin(), req->capabilities().end());
  SG_GRPC_ASSIGN(auto r, impl_.HarvestCertificate(h));
  resp->set_outcome(std::string(HarvestOutcomeName(r.outcome)));
  resp->set_reason(r.reason);
  resp->set_fingerprint(r.fingerprint);
  return grpc::Status::OK;
}

grpc::Status KeyServiceGrpc::GetTrustAnchors(grpc::ServerContext*, const pb::TrustAnchorsRequest*,
                                             pb::TrustAnchorsResponse* resp) {
  SG_GRPC_ASSIGN(auto t, impl_.GetTrustAnchors());
  for (const auto& d : t.der) resp->add_der(d);
  resp->set_version(t.version);
  return grpc::Status::OK;
}

grpc::Status KeyServiceGrpc::WaitForChanges(grpc::ServerContext* ctx, const pb::ChangesRequest* req,
                                            pb::ChangesResponse* resp) {
  // Never wait past the caller's deadline.
  auto wait = std::chrono::milliseconds(req->wait_ms());
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ctx->deadline() -
                                                                    std::chrono::system_clock::now());
  wait = std::max(std::chrono::milliseconds(0), std::min(wait, left - std::chrono::milliseconds(50)));
  SG_GRPC_ASSIGN(auto c, impl_.WaitForChanges(req->epoch(), req->after_version(), wait));
  resp->set_epoch(c.epoch);
  resp->set_version(c.version);
  resp->set_reset(c.reset);
  for (const auto& e : c.events) {
    auto* o = resp->add_events();
    o->set_version(e.version);
    o->set_kind(e.kind);
    o->set_subject(e.subject);
  }
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::PutUsers(grpc::ServerContext*, const pb::PutUsersRequest* req,
                                    pb::PutUsersResponse* resp) {
  std::vector<User> users;
  for (const auto& u : req->users()) users.push_back(User{u.address(), u.participating(), u.tenant()});
  SG_GRPC_ASSIGN(auto r, impl_.PutUsers(users));
  resp->set_added(r.added);
  resp->set_updated(r.updated);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::RemoveUser(grpc::ServerContext*, const pb::AddressRequest* req,
                                      pb::RemoveUserResponse*) {
  SG_GRPC_CHECK(impl_.RemoveUser(req->address()));
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ListUsers(grpc::ServerContext*, const pb::ListUsersRequest* req,
                                     pb::ListUsersResponse* resp) {
  SG_GRPC_ASSIGN(auto users, impl_.ListUsers(req->domain()));
  for (const auto& u : users) {
    auto* o = resp->add_users();
    o->set_address(u.address);
    o->set_participating(u.participating);
    o->set_tenant(u.tenant);
  }
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::AddDomain(grpc::ServerContext*, const pb::Domain* req,
                                     pb::AddDomainResponse*) {
  SG_GRPC_CHECK(impl_.AddDomain(Domain{req->name(), req->tenant()}));
  return grpc::Status::OK;
}

namespace {

void DomainToPb(const Domain& d, pb::Domain* o) {
  o->set_name(d.name);
  o->set_tenant(d.tenant);
  o->set_ca_backend(d.ca_backend);
  o->set_needs_validation(d.needs_validation);
  o->set_validation_state(d.validation_state);
  o->set_validated_at(d.validated_at);
  o->set_valid_until(d.valid_until);
  o->set_next_check_at(d.next_check_at);
  o->set_validation_reason(d.validation_reason);
  o->set_record_name(d.record_name);
  o->set_record_value(d.record_value);
}

}  // namespace

grpc::Status KeyAdminGrpc::ListDomains(grpc::ServerContext*, const pb::ListDomainsRequest*,
                                       pb::ListDomainsResponse* resp) {
  SG_GRPC_ASSIGN(auto domains, impl_.ListDomains());
  for (const auto& d : domains) DomainToPb(d, resp->add_domains());
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::DomainValidate(grpc::ServerContext*,
                                          const pb::DomainValidateRequest* req, pb::Domain* resp) {
  SG_GRPC_ASSIGN(auto d, impl_.ValidateDomain(req->name()));
  DomainToPb(d, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ListCertificates(grpc::ServerContext*,
                                            const pb::ListCertificatesRequest* req,
                                            pb::ListCertificatesResponse* resp) {
  SG_GRPC_ASSIGN(auto certs, impl_.ListCertificates(req->owner(), req->kind()));
  for (const auto& c : certs) FillInfo(c, resp->add_certificates());
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ImportCertificates(grpc::ServerContext*,
                                              const pb::ImportCertificatesRequest* req,
                                              pb::ImportCertificatesResponse* resp) {
  std::vector<std::string> der(req->der().begin(), req->der().end());
  SG_GRPC_ASSIGN(auto fps, impl_.ImportCertificates(req->owner(), der));
  for (const auto& f : fps) resp->add_fingerprints(f);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TrustAdd(grpc::ServerContext*, const pb::TrustAddRequest* req,
                                    pb::TrustAddResponse* resp) {
  std::vector<std::string> der(req->der().begin(), req->der().end());
  SG_GRPC_ASSIGN(auto r, impl_.TrustAdd(der));
  FillTrustAdd(r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TrustApprovePending(grpc::ServerContext*,
                                               const pb::FingerprintRequest* req,
                                               pb::TrustAddResponse* resp) {
  SG_GRPC_ASSIGN(auto r, impl_.TrustApprovePending(req->fingerprint()));
  FillTrustAdd(r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TrustRemove(grpc::ServerContext*, const pb::FingerprintRequest* req,
                                       pb::RemoveResponse*) {
  SG_GRPC_CHECK(impl_.TrustRemove(req->fingerprint()));
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::TrustSources(grpc::ServerContext*, const pb::TrustSourcesRequest*,
                                        pb::TrustSourcesResponse* resp) {
  SG_GRPC_ASSIGN(auto s, impl_.TrustSources());
  for (const auto& a : s.anchors) FillInfo(a, resp->add_anchors());
  resp->set_mozilla_origin(s.mozilla_origin);
  resp->set_mozilla_extracted_at(s.mozilla_extracted_at);
  resp->set_system_file(s.system_file);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::CaExport(grpc::ServerContext*, const pb::CaExportRequest*,
                                    pb::CaExportResponse* resp) {
  SG_GRPC_ASSIGN(auto ca, impl_.CaExport());
  resp->set_root_der(ca.root_der);
  resp->set_issuing_der(ca.issuing_der);
  for (const auto& c : ca.all) {
    auto* o = resp->add_cas();
    o->set_label(c.label);
    o->set_backend(c.backend);
    o->set_root_der(c.root_der);
    o->set_issuing_der(c.issuing_der);
  }
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ImportKey(grpc::ServerContext*, const pb::KeyImportRequest* req,
                                     pb::KeyImportResponse* resp) {
  SG_GRPC_ASSIGN(auto r, impl_.ImportKey(req->owner(), req->pkcs12(), req->password()));
  resp->set_key_id(r.key_id);
  resp->set_fingerprint(r.fingerprint);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::Rollover(grpc::ServerContext*, const pb::RolloverRequest* req,
                                    pb::RolloverResponse* resp) {
  SG_GRPC_ASSIGN(auto r, impl_.Rollover(req->address()));
  resp->set_key_id(r.key_id);
  resp->set_fingerprint(r.fingerprint);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::RevokeKey(grpc::ServerContext*, const pb::RevokeKeyRequest* req,
                                     pb::RevokeKeyResponse* resp) {
  SG_GRPC_ASSIGN(auto r, impl_.RevokeKey(req->address(), req->reason()));
  resp->set_revoked_serial(r.revoked_serial);
  resp->set_revoked_fingerprint(r.revoked_fingerprint);
  resp->set_key_id(r.replacement.key_id);
  resp->set_fingerprint(r.replacement.fingerprint);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::IssueCredentials(grpc::ServerContext*,
                                            const pb::IssueCredentialsRequest* req,
                                            pb::IssueCredentialsResponse* resp) {
  SG_GRPC_ASSIGN(auto r, impl_.IssueCredentials(CredentialsRequest{
                             req->role(), req->name(), req->public_key_der(), req->validity_days()}));
  resp->set_certificate_pem(r.certificate_pem);
  resp->set_ca_pem(r.ca_pem);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::ListAudit(grpc::ServerContext*, const pb::ListAuditRequest* req,
                                     pb::ListAuditResponse* resp) {
  SG_GRPC_ASSIGN(auto records, impl_.ListAudit(req->since_us(), req->limit()));
  for (const auto& r : records) {
    auto* o = resp->add_records();
    o->set_time_us(r.time_us);
    o->set_subject(r.subject);
    o->set_role(r.role);
    o->set_method(r.method);
    o->set_arguments(r.arguments);
    o->set_result(r.result);
    o->set_message(r.message);
  }
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::RotateKek(grpc::ServerContext*, const pb::RotateKekRequest*,
                                     pb::RotateKekResponse* resp) {
  SG_GRPC_ASSIGN(auto r, impl_.RotateKek());
  resp->set_resealed(r.resealed);
  resp->set_already_current(r.already_current);
  resp->set_kek_id(r.kek_id);
  return grpc::Status::OK;
}

}  // namespace sg::keyservice
