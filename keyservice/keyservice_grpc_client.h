// KeyServiceClient: KeyService and KeyAdmin over gRPC with mutual TLS, for
// workers in their own process and for smimegatectl. Behaves like
// KeyServiceImpl; transport failures are kUnavailable / kTimeout naming the
// endpoint; a call the keyservice refuses for the caller's role is
// kPermissionDenied (UNAUTHENTICATED too, with a message saying so).
//
// Threading: thread-safe (one gRPC channel, shared by all calls).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "keyservice/credentials_files.h"
#include "keyservice/dkim_admin.h"
#include "keyservice/key_admin.h"
#include "keyservice/key_service.h"
#include "keyservice/tenant_admin.h"
#include "keyservice/usage_admin.h"

namespace grpc {
class Channel;
}

namespace sg::keyservice {

struct ActiveCalls;  // the calls in progress, for Shutdown

class KeyServiceClient : public KeyService,
                         public KeyAdmin,
                         public TenantAdmin,
                         public UsageAdmin,
                         public DkimAdmin {
 public:
  // `endpoint` is host:port or unix:/path; `credentials` the client
  // certificate (its role decides what the keyservice allows), key and CA
  // (kInvalidArgument naming the file when they do not parse or the key is
  // not the certificate's). `timeout` bounds every call except
  // WaitForChanges, which adds its wait. `wait_for_ready`: a call waits (up
  // to its deadline) for an unreachable keyservice instead of failing at
  // once; workers want that (a keyservice that starts after them or restarts
  // is a short delay), smimegatectl wants a quick, clear error.
  static Result<std::unique_ptr<KeyServiceClient>> Create(
      const std::string& endpoint, const ClientCredentials& credentials,
      std::chrono::milliseconds timeout = std::chrono::seconds(30), bool wait_for_ready = false);
  ~KeyServiceClient() override;

  Result<std::optional<SigningIdentity>> GetSigningIdentity(const std::string& address) override;
  Result<std::optional<EncryptionCertificate>> GetEncryptionCertificate(
      const std::string& address) override;
  Result<std::vector<DecryptionKey>> GetDecryptionKeys(const std::string& address) override;
  Result<bool> Participates(const std::string& address) override;
  Result<HarvestResult> HarvestCertificate(const HarvestRequest& request) override;
  Result<TrustAnchors> GetTrustAnchors() override;
  Result<Changes> WaitForChanges(uint64_t epoch, uint64_t after_version,
                                 std::chrono::milliseconds wait) override;

  Result<PutUsersResult> PutUsers(const std::vector<User>& users) override;
  Status RemoveUser(const std::string& address) override;
  Result<std::vector<User>> ListUsers(const std::string& domain) override;
  Status AddDomain(const Domain& domain) override;
  Result<std::vector<Domain>> ListDomains() override;
  Result<Domain> ValidateDomain(const std::string& domain) override;
  Result<std::vector<CertificateInfo>> ListCertificates(const std::string& owner,
                                                        const std::string& kind) override;
  Result<std::vector<std::string>> ImportCertificates(const std::string& owner,
                                                      const std::vector<std::string>& der) override;
  Result<TrustAddResult> TrustAdd(const std::vector<std::string>& der) override;
  Result<TrustAddResult> TrustApprovePending(const std::string& fingerprint) override;
  Status TrustRemove(const std::string& fingerprint) override;
  Result<TrustSourceList> TrustSources() override;
  Result<CaCertificates> CaExport() override;
  Result<KeyImportResult> ImportKey(const std::string& owner, const std::string& pkcs12,
                                    const std::string& password) override;
  Result<KeyImportResult> Rollover(const std::string& address) override;
  Result<RevokeResult> RevokeKey(const std::string& address, const std::string& reason) override;
  Result<IssuedCredentials> IssueCredentials(const CredentialsRequest& request) override;
  Result<std::vector<AuditRecord>> ListAudit(int64_t since_us, uint32_t limit) override;
  Result<KekRotationResult> RotateKek() override;
  // Tenants and resellers (TenantAdmin) and the hosted domains (KeyService).
  Result<std::vector<HostedDomain>> TenantDomains() override;
  Result<TenantRoutingTable> TenantRouting() override;
  Result<Tenant> TenantAdd(const Tenant& tenant) override;
  Result<std::vector<Tenant>> TenantList(const std::string& reseller) override;
  Result<Tenant> TenantShow(const std::string& id) override;
  Status TenantRemove(const std::string& id) override;
  Result<Reseller> ResellerAdd(const Reseller& reseller) override;
  Result<std::vector<Reseller>> ResellerList() override;
  Result<Reseller> ResellerShow(const std::string& id) override;
  Status ResellerRemove(const std::string& id) override;
  Status TenantRemoveDomain(const std::string& domain) override;
  Result<Tenant> TenantRouteSet(const TenantRoute& route) override;
  Result<Tenant> TenantRouteClear(const std::string& tenant) override;
  Result<Tenant> TenantBind(const TenantBinding& binding) override;
  Status TenantUnbind(const TenantBinding& binding) override;
  Result<Tenant> TenantPolicySet(const TenantPolicy& policy) override;
  Result<Tenant> TenantPolicyClear(const std::string& tenant) override;
  Result<Tenant> TenantBrandingSet(const TenantBranding& branding) override;
  Result<Tenant> TenantBrandingClear(const std::string& tenant) override;
  Result<std::vector<TenantRule>> GlobalRulesShow() override;
  Result<std::vector<TenantRule>> GlobalRulesSet(const std::vector<TenantRule>& rules) override;
  Result<std::vector<TenantRule>> GlobalRuleAdd(const TenantRule& rule) override;
  Result<std::vector<TenantRule>> GlobalRuleRemove(const std::string& match) override;
  // Usage counting (UsageAdmin, docs/usage.md).
  Result<bool> UsageSnapshot() override;
  Result<UsageReport> GetUsageReport(const std::string& month, const std::string& tenant,
                                     const std::string& reseller) override;
  Status UsageSetTotal(const std::string& domain, uint32_t total) override;
  Status UsageRecordMessages(const UsageMessages& counts) override;
  // DKIM keys (service Dkim, dkim_grpc_client.cc).
  Result<std::optional<DkimSigningKey>> GetDkimKey(const std::string& domain) override;
  Result<DkimKeyInfo> DkimKeygen(const std::string& domain, const std::string& selector,
                                 const std::string& algorithm) override;
  Result<std::vector<DkimKeyInfo>> DkimList(const std::string& domain) override;
  Result<DkimKeyInfo> DkimActivate(const std::string& domain, const std::string& selector) override;
  Status DkimRemove(const std::string& domain, const std::string& selector) override;
  // KEK rotation may take long: its own deadline.
  void set_rotate_timeout(std::chrono::milliseconds t) { rotate_timeout_ = t; }

  // The channel, for the other services of the keyservice (the decryption
  // failure guard) so that they share its connection and credentials.
  std::shared_ptr<grpc::Channel> channel() const;

  // Connects (or finds the channel connected) within `timeout`:
  // kUnavailable naming the endpoint when the keyservice cannot be reached.
  // Start-up uses it to wait for a keyservice that is down.
  Status WaitConnected(std::chrono::milliseconds timeout);

  // Shutdown: cancels every call in progress (one waiting for an unreachable
  // keyservice would otherwise hold its thread until its deadline) and makes
  // every later call fail at once; both return kUnavailable ("shutting
  // down"), so a worker treats it as an outage (reads the record again
  // later) and never as the message's fault.
  void Shutdown();

 private:
  struct Stubs;
  KeyServiceClient(std::string endpoint, const ClientCredentials& credentials,
                   std::chrono::milliseconds timeout, bool wait_for_ready);
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  bool wait_for_ready_;
  std::chrono::milliseconds rotate_timeout_{std::chrono::hours(1)};
  std::unique_ptr<Stubs> stubs_;
  std::unique_ptr<ActiveCalls> calls_;
};

}  // namespace sg::keyservice
