#include "keyservice/keyservice_grpc_client.h"

#include "keyservice/keyservice_grpc_calls.h"
#include "keyservice/rpc_channel.h"
#include "keyservice/tenant_policy_pb.h"
#include "keyservice/usage_pb.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

namespace {

CertificateInfo InfoFrom(const pb::CertificateInfo& c) {
  CertificateInfo out;
  out.fingerprint = c.fingerprint();
  out.owner = c.owner();
  out.kind = c.kind();
  out.subject = c.subject();
  out.issuer = c.issuer();
  out.not_before = c.not_before();
  out.not_after = c.not_after();
  out.has_private_key = c.has_private_key();
  out.current = c.current();
  out.der = c.der();
  out.origin = c.origin();
  return out;
}

TrustAddResult TrustAddFrom(const pb::TrustAddResponse& r) {
  TrustAddResult out;
  out.fingerprints.assign(r.fingerprints().begin(), r.fingerprints().end());
  out.promoted_pending = r.promoted_pending();
  return out;
}

}  // namespace

#define SG_SVC(method, req, resp)                                                        \
  TrackedCall(&pb::KeyService::Stub::method, stubs_->service.get(), req, resp, timeout_, \
              endpoint_, wait_for_ready_, *calls_)
#define SG_ADM(method, req, resp)                                                               \
  TrackedCall(&pb::KeyAdmin::Stub::method, stubs_->admin.get(), req, resp, timeout_, endpoint_, \
              wait_for_ready_, *calls_)

Result<std::unique_ptr<KeyServiceClient>> KeyServiceClient::Create(
    const std::string& endpoint, const ClientCredentials& credentials,
    std::chrono::milliseconds timeout, bool wait_for_ready) {
  SG_RETURN_IF_ERROR(CheckClientCredentials(credentials));
  return std::unique_ptr<KeyServiceClient>(
      new KeyServiceClient(endpoint, credentials, timeout, wait_for_ready));
}

KeyServiceClient::KeyServiceClient(std::string endpoint, const ClientCredentials& credentials,
                                   std::chrono::milliseconds timeout, bool wait_for_ready)
    : endpoint_(std::move(endpoint)),
      timeout_(timeout),
      wait_for_ready_(wait_for_ready),
      stubs_(std::make_unique<Stubs>()),
      calls_(std::make_unique<ActiveCalls>()) {
  stubs_->channel = MakeChannel(endpoint_, credentials);
  stubs_->service = pb::KeyService::NewStub(stubs_->channel);
  stubs_->admin = pb::KeyAdmin::NewStub(stubs_->channel);
  stubs_->dkim = pb::Dkim::NewStub(stubs_->channel);
}

KeyServiceClient::~KeyServiceClient() = default;

Status KeyServiceClient::WaitConnected(std::chrono::milliseconds timeout) {
  if (stubs_->channel->WaitForConnected(std::chrono::system_clock::now() + timeout)) {
    return OkStatus();
  }
  return MakeError(ErrorCode::kUnavailable,
                   "keyservice " + endpoint_ + ": not reachable (no connection within " +
                       std::to_string(timeout.count()) + " ms)");
}

void KeyServiceClient::Shutdown() {
  std::lock_guard<std::mutex> lock(calls_->mu);
  calls_->shut_down = true;
  for (grpc::ClientContext* ctx : calls_->contexts) ctx->TryCancel();
}

Result<std::optional<SigningIdentity>> KeyServiceClient::GetSigningIdentity(
    const std::string& address) {
  pb::AddressRequest req;
  req.set_address(address);
  pb::SigningIdentityResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(GetSigningIdentity, req, &resp));
  if (!resp.participating()) return std::optional<SigningIdentity>();
  SigningIdentity id;
  const auto& i = resp.identity();
  id.address = i.address();
  id.key_id = i.key_id();
  id.private_key_der = i.private_key_der();
  id.certificate_der = i.certificate_der();
  id.chain_der.assign(i.chain_der().begin(), i.chain_der().end());
  return std::optional<SigningIdentity>(std::move(id));
}

Result<std::optional<EncryptionCertificate>> KeyServiceClient::GetEncryptionCertificate(
    const std::string& address) {
  pb::AddressRequest req;
  req.set_address(address);
  pb::EncryptionCertificateResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(GetEncryptionCertificate, req, &resp));
  if (!resp.found()) return std::optional<EncryptionCertificate>();
  EncryptionCertificate c;
  c.owner = resp.certificate().owner();
  c.certificate_der = resp.certificate().certificate_der();
  c.smime_capabilities_der = resp.certificate().smime_capabilities_der();
  c.domain_certificate = resp.certificate().domain_certificate();
  c.capabilities.assign(resp.certificate().capabilities().begin(),
                        resp.certificate().capabilities().end());
  c.domain_certificate_der = resp.certificate().domain_certificate_der();
  c.domain_capabilities.assign(resp.certificate().domain_capabilities().begin(),
                               resp.certificate().domain_capabilities().end());
  return std::optional<EncryptionCertificate>(std::move(c));
}

Result<std::vector<DecryptionKey>> KeyServiceClient::GetDecryptionKeys(const std::string& address) {
  pb::AddressRequest req;
  req.set_address(address);
  pb::DecryptionKeysResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(GetDecryptionKeys, req, &resp));
  std::vector<DecryptionKey> out;
  for (const auto& k : resp.keys()) {
    out.push_back(DecryptionKey{k.key_id(), k.owner(), k.private_key_der(), k.certificate_der()});
  }
  return out;
}

Result<bool> KeyServiceClient::Participates(const std::string& address) {
  pb::AddressRequest req;
  req.set_address(address);
  pb::ParticipatesResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(Participates, req, &resp));
  return resp.participating();
}

Result<HarvestResult> KeyServiceClient::HarvestCertificate(const HarvestRequest& request) {
  pb::HarvestRequest req;
  req.set_address(request.address);
  req.set_certificate_der(request.certificate_der);
  for (const auto& c : request.chain_der) req.add_chain_der(c);
  req.set_smime_capabilities_der(request.smime_capabilities_der);
  for (const auto& c : request.capabilities) req.add_capabilities(c);
  pb::HarvestResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(HarvestCertificate, req, &resp));
  HarvestResult r;
  for (auto o : {HarvestOutcome::kStored, HarvestOutcome::kUnchanged, HarvestOutcome::kPending,
                 HarvestOutcome::kRejected}) {
    if (HarvestOutcomeName(o) == resp.outcome()) r.outcome = o;
  }
  r.reason = resp.reason();
  r.fingerprint = resp.fingerprint();
  return r;
}

Result<TrustAnchors> KeyServiceClient::GetTrustAnchors() {
  pb::TrustAnchorsRequest req;
  pb::TrustAnchorsResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(GetTrustAnchors, req, &resp));
  TrustAnchors t;
  t.der.assign(resp.der().begin(), resp.der().end());
  t.version = resp.version();
  return t;
}

Result<Changes> KeyServiceClient::WaitForChanges(uint64_t epoch, uint64_t after_version,
                                                 std::chrono::milliseconds wait) {
  pb::ChangesRequest req;
  req.set_epoch(epoch);
  req.set_after_version(after_version);
  req.set_wait_ms(static_cast<uint32_t>(wait.count()));
  pb::ChangesResponse resp;
  SG_RETURN_IF_ERROR(TrackedCall(&pb::KeyService::Stub::WaitForChanges, stubs_->service.get(), req,
                                 &resp, timeout_ + wait, endpoint_, wait_for_ready_, *calls_));
  Changes c;
  c.epoch = resp.epoch();
  c.version = resp.version();
  c.reset = resp.reset();
  for (const auto& e : resp.events()) c.events.push_back(ChangeEvent{e.version(), e.kind(), e.subject()});
  return c;
}

Result<PutUsersResult> KeyServiceClient::PutUsers(const std::vector<User>& users) {
  pb::PutUsersRequest req;
  for (const auto& u : users) {
    auto* o = req.add_users();
    o->set_address(u.address);
    o->set_participating(u.participating);
    o->set_tenant(u.tenant);
  }
  pb::PutUsersResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(PutUsers, req, &resp));
  return PutUsersResult{resp.added(), resp.updated()};
}

Status KeyServiceClient::RemoveUser(const std::string& address) {
  pb::AddressRequest req;
  req.set_address(address);
  pb::RemoveUserResponse resp;
  return SG_ADM(RemoveUser, req, &resp);
}

Result<std::vector<User>> KeyServiceClient::ListUsers(const std::string& domain) {
  pb::ListUsersRequest req;
  req.set_domain(domain);
  pb::ListUsersResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(ListUsers, req, &resp));
  std::vector<User> out;
  for (const auto& u : resp.users()) out.push_back(User{u.address(), u.participating(), u.tenant()});
  return out;
}

namespace {

Domain DomainFromPb(const pb::Domain& d) {
  Domain out{d.name(), d.tenant()};
  out.ca_backend = d.ca_backend();
  out.needs_validation = d.needs_validation();
  out.validation_state = d.validation_state();
  out.validated_at = d.validated_at();
  out.valid_until = d.valid_until();
  out.next_check_at = d.next_check_at();
  out.validation_reason = d.validation_reason();
  out.record_name = d.record_name();
  out.record_value = d.record_value();
  return out;
}

}  // namespace

Result<Domain> KeyServiceClient::ValidateDomain(const std::string& domain) {
  pb::DomainValidateRequest req;
  req.set_name(domain);
  pb::Domain resp;
  SG_RETURN_IF_ERROR(SG_ADM(DomainValidate, req, &resp));
  return DomainFromPb(resp);
}

Status KeyServiceClient::AddDomain(const Domain& domain) {
  pb::Domain req;
  req.set_name(domain.name);
  req.set_tenant(domain.tenant);
  pb::AddDomainResponse resp;
  return SG_ADM(AddDomain, req, &resp);
}

Result<std::vector<Domain>> KeyServiceClient::ListDomains() {
  pb::ListDomainsRequest req;
  pb::ListDomainsResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(ListDomains, req, &resp));
  std::vector<Domain> out;
  for (const auto& d : resp.domains()) out.push_back(DomainFromPb(d));
  return out;
}

Result<std::vector<CertificateInfo>> KeyServiceClient::ListCertificates(const std::string& owner,
                                                                        const std::string& kind) {
  pb::ListCertificatesRequest req;
  req.set_owner(owner);
  req.set_kind(kind);
  pb::ListCertificatesResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(ListCertificates, req, &resp));
  std::vector<CertificateInfo> out;
  for (const auto& c : resp.certificates()) out.push_back(InfoFrom(c));
  return out;
}

Result<std::vector<std::string>> KeyServiceClient::ImportCertificates(
    const std::string& owner, const std::vector<std::string>& der) {
  pb::ImportCertificatesRequest req;
  req.set_owner(owner);
  for (const auto& d : der) req.add_der(d);
  pb::ImportCertificatesResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(ImportCertificates, req, &resp));
  return std::vector<std::string>(resp.fingerprints().begin(), resp.fingerprints().end());
}

Result<TrustAddResult> KeyServiceClient::TrustAdd(const std::vector<std::string>& der) {
  pb::TrustAddRequest req;
  for (const auto& d : der) req.add_der(d);
  pb::TrustAddResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(TrustAdd, req, &resp));
  return TrustAddFrom(resp);
}

Result<TrustAddResult> KeyServiceClient::TrustApprovePending(const std::string& fingerprint) {
  pb::FingerprintRequest req;
  req.set_fingerprint(fingerprint);
  pb::TrustAddResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(TrustApprovePending, req, &resp));
  return TrustAddFrom(resp);
}

Status KeyServiceClient::TrustRemove(const std::string& fingerprint) {
  pb::FingerprintRequest req;
  req.set_fingerprint(fingerprint);
  pb::RemoveResponse resp;
  return SG_ADM(TrustRemove, req, &resp);
}

Result<TrustSourceList> KeyServiceClient::TrustSources() {
  pb::TrustSourcesRequest req;
  pb::TrustSourcesResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(TrustSources, req, &resp));
  TrustSourceList out;
  for (const auto& a : resp.anchors()) out.anchors.push_back(InfoFrom(a));
  out.mozilla_origin = resp.mozilla_origin();
  out.mozilla_extracted_at = resp.mozilla_extracted_at();
  out.system_file = resp.system_file();
  return out;
}

Result<CaCertificates> KeyServiceClient::CaExport() {
  pb::CaExportRequest req;
  pb::CaExportResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(CaExport, req, &resp));
  CaCertificates out{resp.root_der(), resp.issuing_der(), {}};
  for (const auto& c : resp.cas()) {
    out.all.push_back({c.label(), c.backend(), c.root_der(), c.issuing_der()});
  }
  return out;
}

Result<KeyImportResult> KeyServiceClient::ImportKey(const std::string& owner,
                                                    const std::string& pkcs12,
                                                    const std::string& password) {
  pb::KeyImportRequest req;
  req.set_owner(owner);
  req.set_pkcs12(pkcs12);
  req.set_password(password);
  pb::KeyImportResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(ImportKey, req, &resp));
  return KeyImportResult{resp.key_id(), resp.fingerprint()};
}

Result<KeyImportResult> KeyServiceClient::Rollover(const std::string& address) {
  pb::RolloverRequest req;
  req.set_address(address);
  pb::RolloverResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(Rollover, req, &resp));
  return KeyImportResult{resp.key_id(), resp.fingerprint()};
}

Result<RevokeResult> KeyServiceClient::RevokeKey(const std::string& address,
                                                const std::string& reason) {
  pb::RevokeKeyRequest req;
  req.set_address(address);
  req.set_reason(reason);
  pb::RevokeKeyResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(RevokeKey, req, &resp));
  return RevokeResult{resp.revoked_serial(), resp.revoked_fingerprint(),
                      KeyImportResult{resp.key_id(), resp.fingerprint()}};
}

Result<IssuedCredentials> KeyServiceClient::IssueCredentials(const CredentialsRequest& request) {
  pb::IssueCredentialsRequest req;
  req.set_role(request.role);
  req.set_name(request.name);
  req.set_public_key_der(request.public_key_der);
  req.set_validity_days(request.validity_days);
  pb::IssueCredentialsResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(IssueCredentials, req, &resp));
  return IssuedCredentials{resp.certificate_pem(), resp.ca_pem()};
}

Result<std::vector<AuditRecord>> KeyServiceClient::ListAudit(int64_t since_us, uint32_t limit) {
  pb::ListAuditRequest req;
  req.set_since_us(since_us);
  req.set_limit(limit);
  pb::ListAuditResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(ListAudit, req, &resp));
  std::vector<AuditRecord> out;
  for (const auto& r : resp.records()) {
    out.push_back(AuditRecord{r.time_us(), r.subject(), r.role(), r.method(), r.arguments(),
                              r.result(), r.message()});
  }
  return out;
}

Result<KekRotationResult> KeyServiceClient::RotateKek() {
  pb::RotateKekRequest req;
  pb::RotateKekResponse resp;
  SG_RETURN_IF_ERROR(TrackedCall(&pb::KeyAdmin::Stub::RotateKek, stubs_->admin.get(), req, &resp,
                                 rotate_timeout_, endpoint_, wait_for_ready_, *calls_));
  return KekRotationResult{resp.resealed(), resp.already_current(), resp.kek_id()};
}

}  // namespace sg::keyservice

namespace sg::keyservice {

std::shared_ptr<grpc::Channel> KeyServiceClient::channel() const { return stubs_->channel; }

}  // namespace sg::keyservice

// Tenants and resellers (docs/tenants.md).
namespace sg::keyservice {
namespace {

TenantRoute RouteFromPb(const pb::TenantRoute& r) {
  TenantRoute out;
  out.tenant = r.tenant();
  out.hosts.assign(r.hosts().begin(), r.hosts().end());
  if (!r.tls().empty()) out.tls = r.tls();
  return out;
}

TenantBinding BindingFromPb(const pb::TenantBinding& b) {
  return TenantBinding{b.kind(), b.value(), b.tenant()};
}

void BindingToPb(const TenantBinding& b, pb::TenantBinding* out) {
  out->set_kind(b.kind);
  out->set_value(b.value);
  out->set_tenant(b.tenant);
}

Tenant TenantFromPb(const pb::Tenant& t) {
  Tenant out{t.id(), t.name(), t.reseller(), t.created_at(),
             std::vector<std::string>(t.domains().begin(), t.domains().end())};
  out.route = RouteFromPb(t.route());
  out.route.tenant = t.id();
  for (const auto& b : t.bindings()) out.bindings.push_back(BindingFromPb(b));
  out.policy = TenantPolicyFromPb(t.policy());
  out.policy.tenant = t.id();
  out.branding = TenantBrandingFromPb(t.branding());
  out.branding.tenant = t.id();
  return out;
}

Reseller ResellerFromPb(const pb::Reseller& r) {
  return Reseller{r.id(), r.name(), r.created_at(),
                  std::vector<std::string>(r.tenants().begin(), r.tenants().end())};
}

}  // namespace

Result<std::vector<HostedDomain>> KeyServiceClient::TenantDomains() {
  pb::TenantDomainsRequest req;
  pb::TenantDomainsResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(TenantDomains, req, &resp));
  std::vector<HostedDomain> out;
  out.reserve(static_cast<size_t>(resp.domains_size()));
  for (const auto& d : resp.domains()) out.push_back(HostedDomain{d.name(), d.tenant()});
  return out;
}

Result<TenantRoutingTable> KeyServiceClient::TenantRouting() {
  pb::TenantDomainsRequest req;
  pb::TenantDomainsResponse resp;
  SG_RETURN_IF_ERROR(SG_SVC(TenantDomains, req, &resp));
  TenantRoutingTable out;
  for (const auto& d : resp.domains()) out.domains.push_back(HostedDomain{d.name(), d.tenant()});
  for (const auto& r : resp.routes()) out.routes.push_back(RouteFromPb(r));
  for (const auto& b : resp.bindings()) out.bindings.push_back(BindingFromPb(b));
  for (const auto& p : resp.policies()) out.policies.push_back(TenantPolicyFromPb(p));
  out.global_rules = TenantRulesFromPb(resp.global_rules());
  return out;
}

Result<Tenant> KeyServiceClient::TenantRouteSet(const TenantRoute& route) {
  pb::TenantRoute req;
  req.set_tenant(route.tenant);
  for (const auto& h : route.hosts) req.add_hosts(h);
  req.set_tls(route.tls);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantRouteSet, req, &resp));
  return TenantFromPb(resp);
}

Result<Tenant> KeyServiceClient::TenantRouteClear(const std::string& tenant) {
  pb::TenantIdRequest req;
  req.set_id(tenant);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantRouteClear, req, &resp));
  return TenantFromPb(resp);
}

Result<Tenant> KeyServiceClient::TenantBind(const TenantBinding& binding) {
  pb::TenantBinding req;
  BindingToPb(binding, &req);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantBind, req, &resp));
  return TenantFromPb(resp);
}

Status KeyServiceClient::TenantUnbind(const TenantBinding& binding) {
  pb::TenantBinding req;
  BindingToPb(binding, &req);
  pb::RemoveResponse resp;
  return SG_ADM(TenantUnbind, req, &resp);
}

Result<Tenant> KeyServiceClient::TenantPolicySet(const TenantPolicy& policy) {
  pb::TenantPolicy req;
  TenantPolicyToPb(policy, &req);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantPolicySet, req, &resp));
  return TenantFromPb(resp);
}

Result<Tenant> KeyServiceClient::TenantPolicyClear(const std::string& tenant) {
  pb::TenantIdRequest req;
  req.set_id(tenant);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantPolicyClear, req, &resp));
  return TenantFromPb(resp);
}

Result<Tenant> KeyServiceClient::TenantBrandingSet(const TenantBranding& branding) {
  pb::TenantBranding req;
  TenantBrandingToPb(branding, &req);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantBrandingSet, req, &resp));
  return TenantFromPb(resp);
}

Result<Tenant> KeyServiceClient::TenantBrandingClear(const std::string& tenant) {
  pb::TenantIdRequest req;
  req.set_id(tenant);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantBrandingClear, req, &resp));
  return TenantFromPb(resp);
}

Result<std::vector<TenantRule>> KeyServiceClient::GlobalRulesShow() {
  pb::GlobalRulesRequest req;
  pb::GlobalRules resp;
  SG_RETURN_IF_ERROR(SG_ADM(GlobalRulesShow, req, &resp));
  return TenantRulesFromPb(resp.rules());
}

Result<std::vector<TenantRule>> KeyServiceClient::GlobalRulesSet(
    const std::vector<TenantRule>& rules) {
  pb::GlobalRules req;
  TenantRulesToPb(rules, req.mutable_rules());
  pb::GlobalRules resp;
  SG_RETURN_IF_ERROR(SG_ADM(GlobalRulesSet, req, &resp));
  return TenantRulesFromPb(resp.rules());
}

Result<std::vector<TenantRule>> KeyServiceClient::GlobalRuleAdd(const TenantRule& rule) {
  pb::TenantRule req;
  req.set_match(rule.match);
  req.set_action(rule.action);
  pb::GlobalRules resp;
  SG_RETURN_IF_ERROR(SG_ADM(GlobalRuleAdd, req, &resp));
  return TenantRulesFromPb(resp.rules());
}

Result<std::vector<TenantRule>> KeyServiceClient::GlobalRuleRemove(const std::string& match) {
  pb::GlobalRuleRemoveRequest req;
  req.set_match(match);
  pb::GlobalRules resp;
  SG_RETURN_IF_ERROR(SG_ADM(GlobalRuleRemove, req, &resp));
  return TenantRulesFromPb(resp.rules());
}

Result<Tenant> KeyServiceClient::TenantAdd(const Tenant& tenant) {
  pb::Tenant req;
  req.set_id(tenant.id);
  req.set_name(tenant.name);
  req.set_reseller(tenant.reseller);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantAdd, req, &resp));
  return TenantFromPb(resp);
}

Result<std::vector<Tenant>> KeyServiceClient::TenantList(const std::string& reseller) {
  pb::TenantListRequest req;
  req.set_reseller(reseller);
  pb::TenantListResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantList, req, &resp));
  std::vector<Tenant> out;
  for (const auto& t : resp.tenants()) out.push_back(TenantFromPb(t));
  return out;
}

Result<Tenant> KeyServiceClient::TenantShow(const std::string& id) {
  pb::TenantIdRequest req;
  req.set_id(id);
  pb::Tenant resp;
  SG_RETURN_IF_ERROR(SG_ADM(TenantShow, req, &resp));
  return TenantFromPb(resp);
}

Status KeyServiceClient::TenantRemove(const std::string& id) {
  pb::TenantIdRequest req;
  req.set_id(id);
  pb::RemoveResponse resp;
  return SG_ADM(TenantRemove, req, &resp);
}

Result<Reseller> KeyServiceClient::ResellerAdd(const Reseller& reseller) {
  pb::Reseller req;
  req.set_id(reseller.id);
  req.set_name(reseller.name);
  pb::Reseller resp;
  SG_RETURN_IF_ERROR(SG_ADM(ResellerAdd, req, &resp));
  return ResellerFromPb(resp);
}

Result<std::vector<Reseller>> KeyServiceClient::ResellerList() {
  pb::ResellerListRequest req;
  pb::ResellerListResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(ResellerList, req, &resp));
  std::vector<Reseller> out;
  for (const auto& r : resp.resellers()) out.push_back(ResellerFromPb(r));
  return out;
}

Result<Reseller> KeyServiceClient::ResellerShow(const std::string& id) {
  pb::TenantIdRequest req;
  req.set_id(id);
  pb::Reseller resp;
  SG_RETURN_IF_ERROR(SG_ADM(ResellerShow, req, &resp));
  return ResellerFromPb(resp);
}

Status KeyServiceClient::ResellerRemove(const std::string& id) {
  pb::TenantIdRequest req;
  req.set_id(id);
  pb::RemoveResponse resp;
  return SG_ADM(ResellerRemove, req, &resp);
}

Status KeyServiceClient::TenantRemoveDomain(const std::string& domain) {
  pb::TenantRemoveDomainRequest req;
  req.set_name(domain);
  pb::RemoveResponse resp;
  return SG_ADM(TenantRemoveDomain, req, &resp);
}

}  // namespace sg::keyservice

// Usage counting (docs/usage.md).
namespace sg::keyservice {

Result<bool> KeyServiceClient::UsageSnapshot() {
  pb::UsageSnapshotRequest req;
  pb::UsageSnapshotResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(UsageSnapshot, req, &resp));
  return resp.taken();
}

Result<UsageReport> KeyServiceClient::GetUsageReport(const std::string& month,
                                                     const std::string& tenant,
                                                     const std::string& reseller) {
  pb::UsageReportRequest req;
  req.set_month(month);
  req.set_tenant(tenant);
  req.set_reseller(reseller);
  pb::UsageReportResponse resp;
  SG_RETURN_IF_ERROR(SG_ADM(UsageReport, req, &resp));
  return UsageReportFromPb(resp);
}

Status KeyServiceClient::UsageSetTotal(const std::string& domain, uint32_t total) {
  pb::UsageSetTotalRequest req;
  req.set_domain(domain);
  req.set_total_users(total);
  pb::RemoveResponse resp;
  return SG_ADM(UsageSetTotal, req, &resp);
}

Status KeyServiceClient::UsageRecordMessages(const UsageMessages& counts) {
  pb::UsageMessagesRequest req;
  UsageMessagesToPb(counts, &req);
  pb::RemoveResponse resp;
  return SG_ADM(UsageRecordMessages, req, &resp);
}

}  // namespace sg::keyservice
