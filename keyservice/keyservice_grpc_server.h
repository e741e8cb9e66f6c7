// The gRPC services (KeyService for workers, KeyAdmin for smimegatectl)
// over an in-process KeyServiceImpl. Pure translation: every method calls
// the implementation and maps the result (keyservice_grpc_status.h). Who may
// call what is decided before these run (RpcServer, rpc_roles.h).
//
// Threading: gRPC's synchronous server calls these from its thread pool;
// KeyServiceImpl is thread-safe. The impl is borrowed and outlives them.
#pragma once

#include "keyservice/key_service_impl.h"
#include "proto/keyservice.grpc.pb.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

class KeyServiceGrpc final : public pb::KeyService::Service {
 public:
  explicit KeyServiceGrpc(KeyServiceImpl& impl) : impl_(impl) {}
  grpc::Status GetSigningIdentity(grpc::ServerContext*, const pb::AddressRequest*,
                                  pb::SigningIdentityResponse*) override;
  grpc::Status GetEncryptionCertificate(grpc::ServerContext*, const pb::AddressRequest*,
                                        pb::EncryptionCertificateResponse*) override;
  grpc::Status GetDecryptionKeys(grpc::ServerContext*, const pb::AddressRequest*,
                                 pb::DecryptionKeysResponse*) override;
  grpc::Status Participates(grpc::ServerContext*, const pb::AddressRequest*,
                            pb::ParticipatesResponse*) override;
  grpc::Status HarvestCertificate(grpc::ServerContext*, const pb::HarvestRequest*,
                                  pb::HarvestResponse*) override;
  grpc::Status GetTrustAnchors(grpc::ServerContext*, const pb::TrustAnchorsRequest*,
                               pb::TrustAnchorsResponse*) override;
  grpc::Status WaitForChanges(grpc::ServerContext*, const pb::ChangesRequest*,
                              pb::ChangesResponse*) override;
  // tenant_grpc.cc
  grpc::Status TenantDomains(grpc::ServerContext*, const pb::TenantDomainsRequest*,
                             pb::TenantDomainsResponse*) override;

 private:
  KeyServiceImpl& impl_;
};

class KeyAdminGrpc final : public pb::KeyAdmin::Service {
 public:
  explicit KeyAdminGrpc(KeyServiceImpl& impl) : impl_(impl) {}
  grpc::Status PutUsers(grpc::ServerContext*, const pb::PutUsersRequest*,
                        pb::PutUsersResponse*) override;
  grpc::Status RemoveUser(grpc::ServerContext*, const pb::AddressRequest*,
                          pb::RemoveUserResponse*) override;
  grpc::Status ListUsers(grpc::ServerContext*, const pb::ListUsersRequest*,
                         pb::ListUsersResponse*) override;
  grpc::Status AddDomain(grpc::ServerContext*, const pb::Domain*, pb::AddDomainResponse*) override;
  grpc::Status ListDomains(grpc::ServerContext*, const pb::ListDomainsRequest*,
                           pb::ListDomainsResponse*) override;
  grpc::Status ListCertificates(grpc::ServerContext*, const pb::ListCertificatesRequest*,
                                pb::ListCertificatesResponse*) override;
  grpc::Status ImportCertificates(grpc::ServerContext*, const pb::ImportCertificatesRequest*,
                                  pb::ImportCertificatesResponse*) override;
  grpc::Status TrustAdd(grpc::ServerContext*, const pb::TrustAddRequest*,
                        pb::TrustAddResponse*) override;
  grpc::Status TrustApprovePending(grpc::ServerContext*, const pb::FingerprintRequest*,
                                   pb::TrustAddResponse*) override;
  grpc::Status TrustRemove(grpc::ServerContext*, const pb::FingerprintRequest*,
                           pb::RemoveResponse*) override;
  grpc::Status TrustSources(grpc::ServerContext*, const pb::TrustSourcesRequest*,
                            pb::TrustSourcesResponse*) override;
  grpc::Status CaExport(grpc::ServerContext*, const pb::CaExportRequest*,
                        pb::CaExportResponse*) override;
  grpc::Status ImportKey(grpc::ServerContext*, const pb::KeyImportRequest*,
                         pb::KeyImportResponse*) override;
  grpc::Status Rollover(grpc::ServerContext*, const pb::RolloverRequest*,
                        pb::RolloverResponse*) override;
  grpc::Status IssueCredentials(grpc::ServerContext*, const pb::IssueCredentialsRequest*,
                                pb::IssueCredentialsResponse*) override;
  grpc::Status ListAudit(grpc::ServerContext*, const pb::ListAuditRequest*,
                         pb::ListAuditResponse*) override;
  grpc::Status RotateKek(grpc::ServerContext*, const pb::RotateKekRequest*,
                         pb::RotateKekResponse*) override;
  grpc::Status RevokeKey(grpc::ServerContext*, const pb::RevokeKeyRequest*,
                         pb::RevokeKeyResponse*) override;
  grpc::Status DomainValidate(grpc::ServerContext*, const pb::DomainValidateRequest*,
                              pb::Domain*) override;
  // Tenants and resellers (tenant_grpc.cc).
  grpc::Status TenantAdd(grpc::ServerContext*, const pb::Tenant*, pb::Tenant*) override;
  grpc::Status TenantList(grpc::ServerContext*, const pb::TenantListRequest*,
                          pb::TenantListResponse*) override;
  grpc::Status TenantShow(grpc::ServerContext*, const pb::TenantIdRequest*, pb::Tenant*) override;
  grpc::Status TenantRemove(grpc::ServerContext*, const pb::TenantIdRequest*,
                            pb::RemoveResponse*) override;
  grpc::Status ResellerAdd(grpc::ServerContext*, const pb::Reseller*, pb::Reseller*) override;
  grpc::Status ResellerList(grpc::ServerContext*, const pb::ResellerListRequest*,
                            pb::ResellerListResponse*) override;
  grpc::Status ResellerShow(grpc::ServerContext*, const pb::TenantIdRequest*,
                            pb::Reseller*) override;
  grpc::Status ResellerRemove(grpc::ServerContext*, const pb::TenantIdRequest*,
                              pb::RemoveResponse*) override;
  grpc::Status TenantRemoveDomain(grpc::ServerContext*, const pb::TenantRemoveDomainRequest*,
                                  pb::RemoveResponse*) override;
  grpc::Status TenantRouteSet(grpc::ServerContext*, const pb::TenantRoute*, pb::Tenant*) override;
  grpc::Status TenantRouteClear(grpc::ServerContext*, const pb::TenantIdRequest*,
                                pb::Tenant*) override;
  grpc::Status TenantBind(grpc::ServerContext*, const pb::TenantBinding*, pb::Tenant*) override;
  grpc::Status TenantUnbind(grpc::ServerContext*, const pb::TenantBinding*,
                            pb::RemoveResponse*) override;
  grpc::Status TenantPolicySet(grpc::ServerContext*, const pb::TenantPolicy*, pb::Tenant*) override;
  grpc::Status TenantPolicyClear(grpc::ServerContext*, const pb::TenantIdRequest*,
                                 pb::Tenant*) override;
  grpc::Status TenantBrandingSet(grpc::ServerContext*, const pb::TenantBranding*,
                                 pb::Tenant*) override;
  grpc::Status TenantBrandingClear(grpc::ServerContext*, const pb::TenantIdRequest*,
                                   pb::Tenant*) override;
  grpc::Status GlobalRulesShow(grpc::ServerContext*, const pb::GlobalRulesRequest*,
                               pb::GlobalRules*) override;
  grpc::Status GlobalRulesSet(grpc::ServerContext*, const pb::GlobalRules*,
                              pb::GlobalRules*) override;
  grpc::Status GlobalRuleAdd(grpc::ServerContext*, const pb::TenantRule*,
                             pb::GlobalRules*) override;
  grpc::Status GlobalRuleRemove(grpc::ServerContext*, const pb::GlobalRuleRemoveRequest*,
                                pb::GlobalRules*) override;
  // Usage counting (usage_grpc.cc).
  grpc::Status UsageReport(grpc::ServerContext*, const pb::UsageReportRequest*,
                           pb::UsageReportResponse*) override;
  grpc::Status UsageSetTotal(grpc::ServerContext*, const pb::UsageSetTotalRequest*,
                             pb::RemoveResponse*) override;
  grpc::Status UsageSnapshot(grpc::ServerContext*, const pb::UsageSnapshotRequest*,
                             pb::UsageSnapshotResponse*) override;
  grpc::Status UsageRecordMessages(grpc::ServerContext*, const pb::UsageMessagesRequest*,
                                   pb::RemoveResponse*) override;

 private:
  KeyServiceImpl& impl_;
};

}  // namespace sg::keyservice
