#include "keyservice/key_service_impl.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

#include "common/log_event.h"
#include "keyservice/ca_router.h"

namespace sg::keyservice {
namespace {

constexpr const char* kKekCheckPlain = "smimegate keyservice kek check v1";

Status CheckKek(KeyStore& store, const Kek& kek, const std::string& path) {
  SG_ASSIGN_OR_RETURN(auto check, store.GetMeta(kMetaKekCheck));
  if (!check) return store.PutMeta(kMetaKekCheck, kek.Seal(kKekCheckPlain, kMetaKekCheck));
  auto plain = kek.Open(*check, kMetaKekCheck);
  if (!plain.ok() || *plain != kKekCheckPlain) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "keyservice: the key-encryption key (id " + kek.id() +
                         ") does not match the key store at " + path +
                         " (keys were sealed with another KEK); start with the KEK the store "
                         "was created with, or, if a KEK rotation is under way, give the old KEK "
                         "as keyservice.kek_previous_file (or $SMIMEGATE_KEK_PREVIOUS) and run "
                         "`smimegatectl kek rotate` again");
  }
  if (kek.has_previous()) {
    spdlog::warn("keyservice: previous KEK {} configured beside KEK {}: run `smimegatectl kek "
                 "rotate`, then remove the previous KEK from the configuration",
                 kek.previous_id(), kek.id());
  }
  return OkStatus();
}

// The anchors fixed for the process's life: Mozilla's email roots (from
// NSS, at start-up) and, when configured, the system's server bundle. A
// configured source that cannot be read stops the start: silently trusting
// less would mark every partner "pending".
Result<StartupAnchors> LoadStartupAnchors(const KeyServiceConfig& config, Clock& clock,
                                          const MozillaRootSource& mozilla_roots) {
  StartupAnchors out;
  if (config.trust.mozilla_email) {
    const std::string& module = config.trust.mozilla_module.empty() ? DefaultMozillaModule()
                                                                    : config.trust.mozilla_module;
    auto bundle = mozilla_roots(module, UnixSeconds(clock.Now()));
    if (!bundle.ok()) {
      return MakeError(bundle.error().code,
                       "keyservice.trust.mozilla_email: " + bundle.error().message +
                           " (or set keyservice.trust.mozilla_email: false)");
    }
    for (auto& der : bundle->der) out.fixed.push_back({std::move(der), kOriginMozillaEmail});
    out.mozilla_origin = bundle->origin;
    out.mozilla_extracted_at = bundle->extracted_at;
  }
  if (config.system_roots) {
    auto system = ReadPemAnchors(config.system_roots_file, kOriginSystem);
    out.fixed.insert(out.fixed.end(), system.begin(), system.end());
    out.system_file = config.system_roots_file;
  }
  return out;
}

}  // namespace

const char* const kMetaKekCheck = "kek_check";

std::string_view HarvestOutcomeName(HarvestOutcome outcome) {
  switch (outcome) {
    case HarvestOutcome::kStored: return "stored";
    case HarvestOutcome::kUnchanged: return "unchanged";
    case HarvestOutcome::kPending: return "pending";
    case HarvestOutcome::kRejected: return "rejected";
  }
  return "rejected";
}

KeyServiceImpl::KeyServiceImpl(const KeyServiceConfig& config, Kek kek,
                               std::unique_ptr<KeyStore> store, metrics::Registry& registry,
                               Clock& clock, StartupAnchors trust)
    : config_(config),
      kek_(std::move(kek)),
      store_(std::move(store)),
      metrics_(registry),
      clock_(clock),
      trust_(std::move(trust)),
      tenants_(*store_),
      usage_(*store_),
      usage_gauge_(registry.AddGauge("smimegate_usage_participating_users",
                                     "Participating users per tenant in today's usage snapshot "
                                     "(docs/usage.md)",
                                     {"tenant"})),
      txt_resolver_(std::make_unique<CaresTxtResolver>(config.dns)),
      validation_(std::make_unique<DomainValidation>(*store_, *txt_resolver_, clock,
                                                     config.domain_validation, registry)) {}

KeyServiceImpl::~KeyServiceImpl() { Shutdown(); }

void KeyServiceImpl::Shutdown() {
  if (issuance_) issuance_->Shutdown();
  changes_.WakeAll();
}

Result<std::unique_ptr<KeyServiceImpl>> KeyServiceImpl::Open(
    const KeyServiceConfig& config, const std::vector<std::string>& hosted_domains,
    metrics::Registry& registry, Clock& clock, const CaFactory& ca_factory,
    const MozillaRootSource& mozilla_roots) {
  SG_ASSIGN_OR_RETURN(StartupAnchors anchors, LoadStartupAnchors(config, clock, mozilla_roots));
  SG_ASSIGN_OR_RETURN(auto store, KeyStore::Open(config.store_path));
  SG_ASSIGN_OR_RETURN(Kek kek, Kek::Load(config, *store));
  SG_RETURN_IF_ERROR(CheckKek(*store, kek, config.store_path));
  // Kek has no move constructor: it is copied (performance-move-const-arg).
  std::unique_ptr<KeyServiceImpl> impl(
      new KeyServiceImpl(config, kek, std::move(store), registry, clock, std::move(anchors)));
  SG_ASSIGN_OR_RETURN(auto ca, ca_factory(config.ca, CaContext{*impl->store_, impl->kek_, clock}));
  impl->ca_ = std::move(ca);
  KeyServiceImpl* self = impl.get();
  if (auto* router = dynamic_cast<CaRouter*>(impl->ca_.get())) {
    router->SetTenantBackend(
        [self](const std::string& domain) { return self->TenantCaBackend(domain); });
  }
  impl->issuance_ = std::make_unique<IssuanceQueue>(
      config.issuance, [self](const std::string& addr) { return self->IssueFirst(addr); },
      [self] { self->ca_->CancelExchanges(); }, clock, registry);
  SG_ASSIGN_OR_RETURN(impl->internal_ca_, InternalCa::LoadOrCreate(*impl->store_, impl->kek_, clock,
                                                                   config.tls.trust_domain));
  for (const auto& d : hosted_domains) {
    SG_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(d));
    SG_ASSIGN_OR_RETURN(auto existing, impl->store_->GetDomain(name));
    if (existing) continue;
    store::StoredDomain sd;
    sd.set_name(name);
    sd.set_tenant(kDefaultTenant);  // docs/tenants.md
    SG_RETURN_IF_ERROR(impl->store_->PutDomain(sd));
  }
  {
    std::lock_guard<std::mutex> lock(impl->tenant_mu_);
    SG_RETURN_IF_ERROR(impl->SeedTenants());
  }
  SG_RETURN_IF_ERROR(impl->ReloadTrust());
  impl->UpdateUnvalidatedGauge();
  spdlog::info("keyservice: store {} open, {} roots from {}{}, CA \"{}\"", config.store_path,
               impl->trust_.fixed_count(),
               config.trust.mozilla_email ? impl->trust_.sources().mozilla_origin : "",
               config.system_roots ? " + " + config.system_roots_file : "", config.ca.organization);
  return impl;
}

std::mutex& KeyServiceImpl::StripeFor(const std::string& owner) {
  return stripes_[std::hash<std::string>{}(owner) % stripes_.size()];
}

bool KeyServiceImpl::IsHosted(const std::string& domain) {
  auto d = store_->GetDomain(domain);
  return d.ok() && d->has_value();
}

bool KeyServiceImpl::KeyValidNow(const store::StoredKey& key) const {
  int64_t now = UnixSeconds(clock_.Now());
  return key.not_before() <= now && now <= key.not_after();
}

Result<std::optional<store::StoredKey>> KeyServiceImpl::CurrentKey(const std::string& owner) {
  SG_ASSIGN_OR_RETURN(auto keys, store_->ListKeys(owner));
  std::optional<store::StoredKey> best;
  for (auto& k : keys) {
    if (!KeyValidNow(k)) continue;
    if (!best || k.added_at() > best->added_at() ||
        (k.added_at() == best->added_at() && k.not_after() > best->not_after())) {
      best = std::move(k);
    }
  }
  return best;
}

Result<IssuedCertificate> KeyServiceImpl::AskCa(const IssueRequest& request,
                                                const std::string& reason,
                                                const store::StoredKey* replaces) {
  Result<IssuedCertificate> issued = MakeError(ErrorCode::kInternal, "not asked");
  if (replaces != nullptr) {
    SG_ASSIGN_OR_RETURN(std::string old_der, OpenKey(*replaces));
    auto old_key = ParsePrivateKeyDer(old_der);
    OPENSSL_cleanse(old_der.data(), old_der.size());
    if (!old_key.ok()) return old_key.error();
    issued = ca_->Renew(RenewRequest{request, replaces->certificate_der(), old_key->get()});
  } else {
    issued = ca_->Issue(request);
  }
  if (!issued.ok()) {
    metrics_.ca_failures.WithLabels({reason, std::string(ErrorCodeName(issued.error().code))}).Inc();
    log::Event("keyservice")
        .Field("action", "ca_request_failed")
        .Field("address", request.address)
        .Field("reason", reason)
        .Field("error", issued.error().ToString())
        .Warn();
  }
  return issued;
}

Result<store::StoredKey> KeyServiceImpl::IssueKey(const std::string& owner,
                                                  const std::string& reason,
                                                  const store::StoredKey* replaces) {
  auto start = std::chrono::steady_clock::now();
  SG_RETURN_IF_ERROR(CheckDomainValidated(owner));  // before any key or CA exchange
  SG_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey(config_.key_type));
  SG_ASSIGN_OR_RETURN(std::string pub, PublicKeyDer(key.get()));
  auto now = clock_.Now();
  SG_ASSIGN_OR_RETURN(IssuedCertificate issued,
                      AskCa(IssueRequest{owner, pub, now, key.get()}, reason, replaces));
  SG_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificateDer(issued.certificate_der));
  SG_ASSIGN_OR_RETURN(std::string key_der, PrivateKeyToDer(key.get()));
  store::StoredKey sk;
  sk.set_owner(owner);
  sk.set_key_id(RandomId());
  sk.set_sealed_private_key(kek_.Seal(key_der, KeyAad(owner, sk.key_id())));
  OPENSSL_cleanse(key_der.data(), key_der.size());
  sk.set_certificate_der(issued.certificate_der);
  for (auto& c : issued.chain_der) sk.add_chain_der(std::move(c));
  sk.set_source("issued");
  SG_ASSIGN_OR_RETURN(int64_t added_at, NextAddedAt(owner));
  sk.set_added_at(added_at);
  sk.set_not_before(NotBefore(cert.get()));
  sk.set_not_after(NotAfter(cert.get()));
  SG_RETURN_IF_ERROR(store_->PutKey(sk));
  metrics_.certificates_issued.WithLabels({reason}).Inc();
  metrics_.issue_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  changes_.Publish("key", owner);
  log::Event("keyservice")
      .Field("action", "issued")
      .Field("address", owner)
      .Field("key_id", sk.key_id())
      .Field("reason", reason)
      .Info();
  return sk;
}

Result<int64_t> KeyServiceImpl::NextAddedAt(const std::string& owner) {
  int64_t at = std::chrono::duration_cast<std::chrono::microseconds>(
                   clock_.Now().time_since_epoch()).count();
  SG_ASSIGN_OR_RETURN(auto keys, store_->ListKeys(owner));
  for (const auto& k : keys) at = std::max(at, k.added_at() + 1);
  return at;
}

Result<std::string> KeyServiceImpl::OpenKey(const store::StoredKey& key) {
  auto plain = kek_.Open(key.sealed_private_key(), KeyAad(key.owner(), key.key_id()));
  if (!plain.ok()) {
    return MakeError(ErrorCode::kCorruption, "keyservice: key " + key.key_id() + " of " +
                                                 key.owner() + ": " + plain.error().message);
  }
  return plain;
}

Status KeyServiceImpl::IssueFirst(const std::string& addr) {
  std::lock_guard<std::mutex> lock(StripeFor(addr));
  SG_ASSIGN_OR_RETURN(auto current, CurrentKey(addr));  // another call may have issued it
  if (current) return OkStatus();
  auto issued = IssueKey(addr, "first_use");
  if (!issued.ok()) return issued.error();
  return OkStatus();
}

Result<std::optional<SigningIdentity>> KeyServiceImpl::GetSigningIdentity(
    const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(address));
  // An alias signs with its user's key (alias_admin.h).
  SG_ASSIGN_OR_RETURN(auto user, UserOrAliasOwner(addr));
  if (!user || !user->participating()) return std::optional<SigningIdentity>();
  SG_ASSIGN_OR_RETURN(auto current, CurrentKey(addr));  // fast path: no lock
  if (!current) {
    // A refusal we know of without asking the CA is answered at once.
    SG_RETURN_IF_ERROR(CheckDomainValidated(addr));
    if (CaBackendOf(DomainOf(addr)) == "builtin") {
      // The built-in CA answers in process: the caller waits for it, as before.
      SG_RETURN_IF_ERROR(IssueFirst(addr));
    } else {
      // An external CA is asked in the background (issuance_queue.h): a
      // slow or silent one answers `unavailable` within answer_within.
      SG_RETURN_IF_ERROR(issuance_->Request(addr));
    }
    SG_ASSIGN_OR_RETURN(current, CurrentKey(addr));
    if (!current) {
      return MakeError(ErrorCode::kUnavailable,
                       "keyservice: the certificate issued for " + addr + " is not valid yet");
    }
  }
  SigningIdentity id;
  id.address = addr;
  id.key_id = current->key_id();
  SG_ASSIGN_OR_RETURN(id.private_key_der, OpenKey(*current));
  id.certificate_der = current->certificate_der();
  id.chain_der.assign(current->chain_der().begin(), current->chain_der().end());
  return std::optional<SigningIdentity>(std::move(id));
}

Result<std::optional<store::StoredCert>> KeyServiceImpl::BestCert(const std::string& owner) {
  SG_ASSIGN_OR_RETURN(auto certs, store_->ListCerts(owner));
  auto now = clock_.Now();
  std::optional<store::StoredCert> best;
  for (auto& c : certs) {
    auto x = ParseCertificateDer(c.der());
    if (!x.ok()) continue;
    std::vector<X509Ptr> chain;
    for (const auto& d : c.chain_der()) {
      auto cx = ParseCertificateDer(d);
      if (cx.ok()) chain.push_back(std::move(*cx));
    }
    // Imported certificates are trusted by the admin's act; harvested ones
    // must still chain to a current anchor (an anchor may have been removed).
    ValidationOptions opts;
    opts.check_chain = c.source() == "harvested";
    Validation v = trust_.Validate(x->get(), chain, opts, now);
    if (v.verdict != Verdict::kOk) continue;
    if (!best || c.not_before() > best->not_before() ||
        (c.not_before() == best->not_before() && c.added_at() > best->added_at())) {
      best = std::move(c);
    }
  }
  return best;
}

Result<std::optional<EncryptionCertificate>> KeyServiceImpl::GetEncryptionCertificate(
    const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(address));
  SG_ASSIGN_OR_RETURN(auto personal, BestCert(addr));
  SG_ASSIGN_OR_RETURN(auto domain_cert, BestCert(DomainOwnerOf(addr)));
  bool domain = false;
  if (!personal) {
    personal = std::move(domain_cert);
    domain_cert.reset();
    domain = true;
  }
  if (!personal) return std::optional<EncryptionCertificate>();
  EncryptionCertificate out;
  if (domain_cert) {
    out.domain_certificate_der = domain_cert->der();
    out.domain_capabilities.assign(domain_cert->capabilities().begin(),
                                   domain_cert->capabilities().end());
  }
  out.owner = personal->owner();
  out.certificate_der = personal->der();
  out.smime_capabilities_der = personal->smime_capabilities_der();
  out.capabilities.assign(personal->capabilities().begin(), personal->capabilities().end());
  out.domain_certificate = domain;
  return std::optional<EncryptionCertificate>(std::move(out));
}

Result<std::vector<DecryptionKey>> KeyServiceImpl::GetDecryptionKeys(const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(address));
  std::vector<DecryptionKey> out;
  for (const std::string& owner : {addr, DomainOwnerOf(addr)}) {
    SG_ASSIGN_OR_RETURN(auto keys, store_->ListKeys(owner));
    if (keys.empty() && owner == addr) {
      // No keys of its own: an alias decrypts with its user's keys (alias_admin.h).
      SG_ASSIGN_OR_RETURN(auto user_of, store_->GetAliasOwner(addr));
      if (user_of) {
        SG_ASSIGN_OR_RETURN(keys, store_->ListKeys(*user_of));
      }
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
      return a.added_at() > b.added_at();
    });
    for (const auto& k : keys) {
      DecryptionKey dk;
      dk.key_id = k.key_id();
      dk.owner = k.owner();
      SG_ASSIGN_OR_RETURN(dk.private_key_der, OpenKey(k));
      dk.certificate_der = k.certificate_der();
      out.push_back(std::move(dk));
    }
  }
  return out;
}

Result<bool> KeyServiceImpl::Participates(const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(address));
  SG_ASSIGN_OR_RETURN(auto user, UserOrAliasOwner(addr));  // an alias: its user's
  return user.has_value() && user->participating();
}

Result<HarvestResult> KeyServiceImpl::HarvestCertificate(const HarvestRequest& request) {
  HarvestResult result;
  auto finish = [&](HarvestOutcome outcome, std::string reason) {
    result.outcome = outcome;
    result.reason = std::move(reason);
    metrics_.harvested.WithLabels({std::string(HarvestOutcomeName(outcome))}).Inc();
    log::Event("keyservice")
        .Field("action", "harvest")
        .Field("address", request.address)
        .Field("status", HarvestOutcomeName(outcome))
        .Field("fingerprint", result.fingerprint)
        .Field("reason", result.reason)
        .Emit(outcome == HarvestOutcome::kUnchanged ? spdlog::level::debug : spdlog::level::info, {});
    return result;
  };
  auto addr = NormalizeAddress(request.address);
  if (!addr.ok()) return finish(HarvestOutcome::kRejected, addr.error().message);
  // Mail from the internet claiming one of our own addresses must never
  // plant a certificate that our outbound mail would then encrypt to.
  if (IsHosted(DomainOf(*addr))) {
    return finish(HarvestOutcome::kRejected, "address " + *addr + " is in a hosted domain");
  }
  // Nearly every signed message carries a certificate we already hold: that
  // answer needs only the fingerprint of the bytes. Parsing (OpenSSL 3
  // decodes the public key) and validating come after, for new ones only;
  // doing them first was ~27 % of a worker's time on inbound mail.
  result.fingerprint = Fingerprint(request.certificate_der);
  std::lock_guard<std::mutex> lock(StripeFor(*addr));
  SG_ASSIGN_OR_RETURN(auto existing, store_->ListCerts(*addr));
  for (const auto& c : existing) {
    if (c.fingerprint() == result.fingerprint) return finish(HarvestOutcome::kUnchanged, "");
  }
  auto cert = ParseCertificateDer(request.certificate_der);
  if (!cert.ok()) return finish(HarvestOutcome::kRejected, cert.error().message);
  std::vector<X509Ptr> chain;
  for (const auto& d : request.chain_der) {
    auto c = ParseCertificateDer(d);
    if (c.ok()) chain.push_back(std::move(*c));
  }
  ValidationOptions opts;
  opts.address = *addr;
  Validation v = trust_.Validate(cert->get(), chain, opts, clock_.Now());
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       clock_.Now().time_since_epoch()).count();
  if (v.verdict == Verdict::kRejected) return finish(HarvestOutcome::kRejected, v.reason);
  if (v.verdict == Verdict::kUntrusted) {
    SG_ASSIGN_OR_RETURN(auto pending, store_->GetPending(result.fingerprint));
    if (pending) return finish(HarvestOutcome::kPending, v.reason);
    store::StoredPending sp;
    sp.set_owner(*addr);
    sp.set_fingerprint(result.fingerprint);
    sp.set_der(request.certificate_der);
    for (const auto& d : request.chain_der) sp.add_chain_der(d);
    sp.set_smime_capabilities_der(request.smime_capabilities_der);
    for (const auto& c : request.capabilities) sp.add_capabilities(c);
    sp.set_reason(v.reason);
    sp.set_added_at(now_us);
    SG_RETURN_IF_ERROR(store_->PutPending(sp));
    changes_.Publish("pending", result.fingerprint);
    return finish(HarvestOutcome::kPending, v.reason);
  }
  store::StoredCert sc;
  sc.set_owner(*addr);
  sc.set_fingerprint(result.fingerprint);
  sc.set_der(request.certificate_der);
  for (const auto& d : request.chain_der) sc.add_chain_der(d);
  sc.set_smime_capabilities_der(request.smime_capabilities_der);
  for (const auto& c : request.capabilities) sc.add_capabilities(c);
  sc.set_source("harvested");
  sc.set_added_at(now_us);
  sc.set_not_before(NotBefore(cert->get()));
  sc.set_not_after(NotAfter(cert->get()));
  SG_RETURN_IF_ERROR(store_->PutCert(sc));
  changes_.Publish("certificate", *addr);
  return finish(HarvestOutcome::kStored, "");
}

Result<TrustAnchors> KeyServiceImpl::GetTrustAnchors() {
  TrustAnchors out;
  out.der = trust_.AnchorsDer();
  out.version = trust_.version();
  return out;
}

Result<Changes> KeyServiceImpl::WaitForChanges(uint64_t epoch, uint64_t after_version,
                                               std::chrono::milliseconds wait) {
  return changes_.Wait(epoch, after_version, std::min(wait, std::chrono::milliseconds(60000)));
}

Status KeyServiceImpl::ReloadTrust() {
  SG_ASSIGN_OR_RETURN(auto anchors, store_->ListTrust());
  std::vector<TrustAnchor> extra;
  extra.push_back({ca_->RootCertificateDer(), kOriginOwnCa});
  for (const auto& c : ca_->AllCas()) {
    if (c.root_der != extra.front().der) extra.push_back({c.root_der, kOriginOwnCa});
  }
  for (const auto& a : anchors) {
    extra.push_back({a.der(), a.origin() == kOriginApproved ? kOriginApproved : kOriginAdmin});
  }
  trust_.Replace(std::move(extra));
  return OkStatus();
}

Result<int> KeyServiceImpl::RolloverDue() {
  metrics_.rollover_runs.Inc();
  SG_ASSIGN_OR_RETURN(auto users, store_->ListUsers());
  int64_t now = UnixSeconds(clock_.Now());
  int64_t lead = std::chrono::duration_cast<std::chrono::seconds>(config_.rollover_before).count();
  int rolled = 0;
  for (const auto& u : users) {
    if (!u.participating()) continue;
    std::lock_guard<std::mutex> lock(StripeFor(u.address()));
    SG_ASSIGN_OR_RETURN(auto current, CurrentKey(u.address()));
    // No valid key at all: the next message issues one (first use).
    if (!current || current->not_after() - lead > now) continue;
    auto issued = IssueKey(u.address(), "rollover", &*current);
    if (!issued.ok()) {
      log::Event("keyservice")
          .Field("action", "rollover_failed")
          .Field("address", u.address())
          .Field("reason", issued.error().ToString())
          .Warn();
      metrics_.errors.WithLabels({"rollover", std::string(ErrorCodeName(issued.error().code))}).Inc();
      continue;  // retried on the next pass
    }
    ++rolled;
  }
  return rolled;
}

}  // namespace sg::keyservice
