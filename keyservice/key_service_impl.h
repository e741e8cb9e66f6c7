// KeyServiceImpl: the keyservice itself, in-process, over the RocksDB store.
// Implements the worker API (KeyService) and the admin API (KeyAdmin).
//
// Single flight: reads and writes for one owner are serialised by a striped
// lock (64 stripes, by owner), so concurrent first use of a new sender
// issues exactly one key; different owners proceed in parallel. A first
// certificate from the built-in CA is issued on the caller's thread (it
// answers in process). One from an external CA (cmp) is issued in the
// background (issuance_queue.h): the caller waits at most
// keyservice.issuance.answer_within for it, then gets `unavailable` and
// finds the certificate on a later call.
//
// Key selection:
//   - signing: among the owner's keys whose certificate is valid now, the
//     one added most recently (an issued rollover key or an imported one);
//   - decryption: every key the owner ever had, newest first, then our
//     domain keys ("@domain") for the owner's domain;
//   - encryption: among trusted, valid partner certificates of the address,
//     the one with the newest notBefore; else the same among the domain's.
//
// Threading: thread-safe. Owns the store, the CA, the trust store and the
// change log; the clock and the metrics registry are borrowed and must
// outlive it.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "keyservice/alias_admin.h"
#include "keyservice/ca_factory.h"
#include "keyservice/certificate_authority.h"
#include "keyservice/change_log.h"
#include "keyservice/dkim_admin.h"
#include "keyservice/dns_txt.h"
#include "keyservice/domain_validation.h"
#include "keyservice/internal_ca.h"
#include "keyservice/issuance_queue.h"
#include "keyservice/kek.h"
#include "keyservice/key_admin.h"
#include "keyservice/key_service.h"
#include "keyservice/key_store.h"
#include "common/clock.h"
#include "keyservice/keyservice_config.h"
#include "keyservice/keyservice_metrics.h"
#include "keyservice/mozilla_roots.h"
#include "keyservice/tenant_admin.h"
#include "keyservice/tenant_registry.h"
#include "keyservice/trust_store.h"
#include "keyservice/usage_admin.h"
#include "keyservice/usage_store.h"

namespace sg::keyservice {

// The meta record holding a known value sealed under the KEK.
extern const char* const kMetaKekCheck;

class KeyServiceImpl : public KeyService,
                       public KeyAdmin,
                       public TenantAdmin,
                       public AliasAdmin,
                       public UsageAdmin,
                       public DkimAdmin,
                       public AuditSink {
 public:
  // Loads the KEK, opens the store (refusing a KEK that does not match it),
  // makes the CA with `ca_factory` (by default the one config.ca.backend
  // names; the built-in CA is created on first start) and adds
  // `hosted_domains` to the domain registry. Errors name the config key and
  // the fix.
  static Result<std::unique_ptr<KeyServiceImpl>> Open(const KeyServiceConfig& config,
                                                      const std::vector<std::string>& hosted_domains,
                                                      metrics::Registry& registry, Clock& clock,
                                                      const CaFactory& ca_factory = DefaultCaFactory(),
                                                      const MozillaRootSource& mozilla_roots =
                                                          ExtractMozillaEmailRoots);
  ~KeyServiceImpl() override;

  // KeyService
  Result<std::optional<SigningIdentity>> GetSigningIdentity(const std::string& address) override;
  Result<std::optional<EncryptionCertificate>> GetEncryptionCertificate(
      const std::string& address) override;
  Result<std::vector<DecryptionKey>> GetDecryptionKeys(const std::string& address) override;
  Result<bool> Participates(const std::string& address) override;
  Result<HarvestResult> HarvestCertificate(const HarvestRequest& request) override;
  Result<TrustAnchors> GetTrustAnchors() override;
  Result<Changes> WaitForChanges(uint64_t epoch, uint64_t after_version,
                                 std::chrono::milliseconds wait) override;
  Result<std::vector<HostedDomain>> TenantDomains() override;
  Result<TenantRoutingTable> TenantRouting() override;  // tenant_routing_service.cc

  // KeyAdmin
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
  // The CRL the built-in CA publishes (GET /ca.crl); kUnsupported for other backends.
  Result<std::string> CaCrl() { return ca_->CrlDer(); }
  Result<IssuedCredentials> IssueCredentials(const CredentialsRequest& request) override;
  Result<std::vector<AuditRecord>> ListAudit(int64_t since_us, uint32_t limit) override;

  // TenantAdmin (tenant_service.cc)
  Result<Tenant> TenantAdd(const Tenant& tenant) override;
  Result<std::vector<Tenant>> TenantList(const std::string& reseller) override;
  Result<Tenant> TenantShow(const std::string& id) override;
  Status TenantRemove(const std::string& id) override;
  Result<Reseller> ResellerAdd(const Reseller& reseller) override;
  Result<std::vector<Reseller>> ResellerList() override;
  Result<Reseller> ResellerShow(const std::string& id) override;
  Status ResellerRemove(const std::string& id) override;
  Status TenantRemoveDomain(const std::string& domain) override;
  // Routes and bindings (tenant_routing_service.cc)
  Result<Tenant> TenantRouteSet(const TenantRoute& route) override;
  Result<Tenant> TenantRouteClear(const std::string& tenant) override;
  Result<Tenant> TenantBind(const TenantBinding& binding) override;
  Status TenantUnbind(const TenantBinding& binding) override;
  // Policy overrides and branding (tenant_policy_service.cc)
  Result<Tenant> TenantPolicySet(const TenantPolicy& policy) override;
  Result<Tenant> TenantPolicyClear(const std::string& tenant) override;
  Result<Tenant> TenantBrandingSet(const TenantBranding& branding) override;
  Result<Tenant> TenantBrandingClear(const std::string& tenant) override;
  // Global policy rules (global_rules_service.cc)
  Result<std::vector<TenantRule>> GlobalRulesShow() override;
  Result<std::vector<TenantRule>> GlobalRulesSet(const std::vector<TenantRule>& rules) override;
  Result<std::vector<TenantRule>> GlobalRuleAdd(const TenantRule& rule) override;
  Result<std::vector<TenantRule>> GlobalRuleRemove(const std::string& match) override;

  // UsageAdmin (usage_service.cc)
  Result<bool> UsageSnapshot() override;
  Result<UsageReport> GetUsageReport(const std::string& month, const std::string& tenant,
                                     const std::string& reseller) override;
  Status UsageSetTotal(const std::string& domain, uint32_t total) override;
  Status UsageRecordMessages(const UsageMessages& counts) override;
  // The directory import's users per domain (the keyservice server sets it:
  // directory sync's totals); none by default.
  void SetDirectoryTotals(std::function<std::map<std::string, uint32_t>()> totals) {
    std::lock_guard<std::mutex> lock(usage_mu_);
    directory_totals_ = std::move(totals);
  }

  // AliasAdmin (key_service_aliases.cc)
  Status SetUserAliases(const std::string& address, const std::vector<std::string>& aliases) override;
  Result<std::vector<std::string>> GetUserAliases(const std::string& address) override;

  // DKIM keys (key_service_dkim.cc, docs/dkim.md)
  Result<std::optional<DkimSigningKey>> GetDkimKey(const std::string& domain) override;
  Result<DkimKeyInfo> DkimKeygen(const std::string& domain, const std::string& selector,
                                 const std::string& algorithm) override;
  Result<std::vector<DkimKeyInfo>> DkimList(const std::string& domain) override;
  Result<DkimKeyInfo> DkimActivate(const std::string& domain, const std::string& selector) override;
  Status DkimRemove(const std::string& domain, const std::string& selector) override;
  // AuditSink: the store record and one structured log line ("audit {...}").
  void Record(const AuditRecord& record) override;

  // The CA of the gRPC API's mutual TLS (server and client certificates).
  InternalCa& internal_ca() { return *internal_ca_; }
  // The store, for records of other components kept in its meta column
  // family (admin API tokens, admin/admin_tokens.h).
  KeyStore& store() { return *store_; }

  // KEK rotation (kek.h): re-seals every private key, the CA's keys and the
  // KEK check value that are not yet sealed under the current KEK, one
  // synced write each, so a crash leaves every record under one of the two
  // configured KEKs; run again to finish. `progress` (tests) is called after
  // each re-sealed key.
  Result<KekRotationResult> RotateKek() override;
  Result<KekRotationResult> RotateKek(const std::function<void(uint32_t resealed)>& progress);

  // One pass of the rollover scheduler: every participating user whose
  // current certificate expires within rollover_before gets a new key.
  // Returns how many were rolled over.
  Result<int> RolloverDue();

  // One pass of domain validation (domain_validation.h): checks the due
  // domains' TXT records (blocks on DNS) and updates the unvalidated-domains
  // gauge. Returns how many were checked.
  Result<int> CheckDomainValidations();
  // Time until the next domain check is due (0 when overdue; none when no
  // domain waits for a check): the scheduler sleeps at most that long.
  std::optional<std::chrono::milliseconds> TimeToNextDomainCheck();
  // Called after ValidateDomain started a validation (the scheduler's wake-up).
  void SetDomainCheckWake(std::function<void()> wake) { wake_checks_ = std::move(wake); }

  // At shutdown: stops background issuance (ends CA exchanges in progress,
  // joins its threads) and wakes long polls (WaitForChanges). Later first
  // uses answer `unavailable`.
  void Shutdown();

 private:
  KeyServiceImpl(const KeyServiceConfig& config, Kek kek, std::unique_ptr<KeyStore> store,
                 metrics::Registry& registry, Clock& clock, StartupAnchors trust);

  std::mutex& StripeFor(const std::string& owner);
  bool IsHosted(const std::string& domain);
  // The user of |addr|; on a miss, the user |addr| is an alias of (one more
  // point read), with |addr| replaced by the user's address.
  Result<std::optional<store::StoredUser>> UserOrAliasOwner(std::string& addr);
  // Drops |alias| from its owner (a user now has that address); alias_mu_ held.
  Status DropAliasLocked(const std::string& alias);
  // The current signing key of owner (valid now, newest added), if any.
  Result<std::optional<store::StoredKey>> CurrentKey(const std::string& owner);
  // The background issuance of a first certificate (issuance_queue.h): under
  // the stripe, issues unless another call already did.
  Status IssueFirst(const std::string& addr);
  // Generates a key, has the CA certify it, stores it sealed. Stripe held.
  // A new key and certificate for owner; `replaces` (a rollover) is the key
  // it succeeds, for the CA's key update (CertificateAuthority::Renew).
  Result<store::StoredKey> IssueKey(const std::string& owner, const std::string& reason,
                                    const store::StoredKey* replaces = nullptr);
  // The CA's answer for a new key; counts and logs a failure.
  Result<IssuedCertificate> AskCa(const IssueRequest& request, const std::string& reason,
                                  const store::StoredKey* replaces);
  Result<std::string> OpenKey(const store::StoredKey& key);
  // kPermissionDenied when owner's domain is served by a public CA backend
  // and has no valid domain validation (counted and logged).
  Status CheckDomainValidated(const std::string& owner);
  std::string CaBackendOf(const std::string& domain) const;
  Domain DomainView(const store::StoredDomain& d) const;
  void UpdateUnvalidatedGauge();
  // The added_at of a new key of owner: now, but strictly after every
  // existing key, so "most recently added" is never a tie (a fake or coarse
  // clock). Stripe held.
  Result<int64_t> NextAddedAt(const std::string& owner);
  // The best trusted, valid partner certificate stored for owner.
  Result<std::optional<store::StoredCert>> BestCert(const std::string& owner);
  Status ReloadTrust();
  // Stores `der` as anchors of `origin` (kOriginAdmin / kOriginApproved).
  Result<TrustAddResult> AddAnchors(const std::vector<std::string>& der, const std::string& origin);
  // Pending certificates that now validate become trusted; returns how many.
  Result<uint32_t> PromotePending();
  bool KeyValidNow(const store::StoredKey& key) const;
  // Revocation at the CA (key_service_admin.cc), logged; RevokeAllOf: every
  // valid issued certificate of a removed user (cessationOfOperation).
  Status RevokeAtCa(const store::StoredKey& key, int reason);
  void RevokeAllOf(const std::string& addr);
  // Tenants (tenant_service.cc). At Open: the default tenant exists, and
  // every stored domain names a registered tenant (an older store's
  // free-text label becomes one). tenant_mu_ held by the callers below.
  Status SeedTenants();
  // The tenant a domain add names: "" keeps an existing domain's tenant and
  // gives a new one the default tenant; otherwise it must exist.
  Result<std::string> TenantForDomain(const std::string& requested);
  Result<std::map<std::string, std::vector<std::string>>> DomainsByTenant();
  Result<Tenant> TenantView(const store::StoredTenant& t);
  // Normalises, stores and announces the global rules; tenant_mu_ held.
  Result<std::vector<TenantRule>> StoreGlobalRules(std::vector<TenantRule> rules);
  // The tenant `id` (normalised), kNotFound when missing; tenant_mu_ held.
  Result<store::StoredTenant> StoredTenantOf(const std::string& id);
  // The labels a tenant policy's ca_backend may name (CaExport's).
  std::set<std::string> CaLabels() const;
  // The ca_backend of the policy of `domain`'s tenant, "" when none (or
  // unreadable: the default routing); CaRouter's tenant lookup.
  std::string TenantCaBackend(const std::string& domain);
  // Re-seals the DKIM keys not sealed under the current KEK (RotateKek);
  // returns how many.
  Result<int> ResealDkimKeys();
  // Usage (usage_service.cc): today's snapshot as it would be taken now.
  Result<UsageDay> BuildUsageDay(const std::string& date);
  void SetUsageGauge(const UsageDay& day);

  KeyServiceConfig config_;
  Kek kek_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<CertificateAuthority> ca_;
  KeyServiceMetrics metrics_;
  Clock& clock_;
  TrustStore trust_;
  ChangeLog changes_;
  std::array<std::mutex, 64> stripes_;
  std::mutex trust_mu_;  // serialises trust changes and pending promotion
  std::mutex rotate_mu_;  // one KEK rotation at a time
  TenantRegistry tenants_;
  std::mutex alias_mu_;  // serialises alias index writes (after tenant_mu_)
  std::mutex tenant_mu_;  // serialises tenant, reseller and domain registry writes
  UsageStore usage_;
  std::mutex usage_mu_;  // directory_totals_, gauge_tenants_
  std::mutex dkim_mu_;   // serialises DKIM key writes (key_service_dkim.cc)
  std::function<std::map<std::string, uint32_t>()> directory_totals_;
  metrics::Family<metrics::Gauge>& usage_gauge_;
  std::set<std::string> gauge_tenants_;
  std::unique_ptr<InternalCa> internal_ca_;
  std::unique_ptr<TxtResolver> txt_resolver_;
  std::unique_ptr<DomainValidation> validation_;
  std::function<void()> wake_checks_;
  // Last member: destroyed (threads joined) before what its threads use.
  std::unique_ptr<IssuanceQueue> issuance_;
};

}  // namespace sg::keyservice
