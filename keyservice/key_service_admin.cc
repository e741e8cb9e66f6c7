// KeyServiceImpl: the admin API (KeyAdmin), used by smimegatectl.
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "keyservice/key_service_impl.h"
#include "common/log_event.h"
#include "keyservice/builtin_ca_crl.h"
#include "keyservice/pkcs12_import.h"

namespace sg::keyservice {
namespace {

int64_t NowMicros(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock.Now().time_since_epoch())
      .count();
}

CertificateInfo InfoFor(const std::string& der, const std::string& owner, const std::string& kind) {
  CertificateInfo info;
  info.fingerprint = Fingerprint(der);
  info.owner = owner;
  info.kind = kind;
  info.der = der;
  auto x = ParseCertificateDer(der);
  if (x.ok()) {
    info.subject = SubjectText(x->get());
    info.issuer = IssuerText(x->get());
    info.not_before = NotBefore(x->get());
    info.not_after = NotAfter(x->get());
  }
  return info;
}

bool IsDomainOwner(const std::string& owner) { return !owner.empty() && owner[0] == '@'; }

// The tenant label a user is stored with (docs/tenants.md "Users"). Empty:
// the tenant of the user's domain, or empty for a domain of `default` (so a
// setup without tenants lists its users as before). The label the user has already: kept, even
// when an older free-text label disagrees with its domain (`smimegatectl
// tenant check` reports those; they are never rewritten behind the admin's
// back). Any other: must be the tenant that owns the domain (a domain added
// without a tenant belongs to `default`); kNotFound for a tenant that does
// not exist, kInvalidArgument for one that does not own the domain.
Result<std::string> UserTenantLabel(const std::string& addr, const std::string& requested,
                                    const store::StoredDomain& domain,
                                    const store::StoredUser* existing, TenantRegistry& tenants) {
  const std::string owner = domain.tenant().empty() ? kDefaultTenant : domain.tenant();
  if (requested.empty()) return owner == kDefaultTenant ? std::string() : owner;
  if (existing != nullptr && requested == existing->tenant()) return requested;
  if (requested == owner) return owner;
  SG_ASSIGN_OR_RETURN(auto t, tenants.GetTenant(requested));
  if (!t) {
    return MakeError(ErrorCode::kNotFound, "user " + addr + ": no tenant " + requested +
                                               "; fix: leave the tenant out (it follows domain " +
                                               domain.name() + ", tenant " + owner + ")");
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "user " + addr + ": tenant " + requested + " does not own domain " +
                       domain.name() + " (tenant " + owner +
                       " does); fix: leave the tenant out (it follows the domain) or move the "
                       "domain first: `smimegatectl domain add " +
                       domain.name() + " --tenant " + requested + "`");
}

}  // namespace

Result<PutUsersResult> KeyServiceImpl::PutUsers(const std::vector<User>& users) {
  std::vector<store::StoredUser> batch;
  std::vector<std::string> added;
  PutUsersResult result;
  int64_t now = UnixSeconds(clock_.Now());
  // A domain is not removed between the hosted check and the write (tenant_service.cc).
  std::lock_guard<std::mutex> lock(tenant_mu_);
  for (const auto& u : users) {
    SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(u.address));
    SG_ASSIGN_OR_RETURN(auto domain, store_->GetDomain(DomainOf(addr)));
    if (!domain) {
      return MakeError(ErrorCode::kNotFound, "user " + addr + ": domain " + DomainOf(addr) +
                                                 " is not hosted (add it with `smimegatectl "
                                                 "domain add " + DomainOf(addr) + "`)");
    }
    SG_ASSIGN_OR_RETURN(auto existing, store_->GetUser(addr));
    SG_ASSIGN_OR_RETURN(
        std::string tenant,
        UserTenantLabel(addr, u.tenant, *domain, existing ? &*existing : nullptr, tenants_));
    store::StoredUser su;
    su.set_address(addr);
    su.set_participating(u.participating);
    su.set_tenant(tenant);
    su.set_created_at(existing ? existing->created_at() : now);
    if (existing) *su.mutable_aliases() = existing->aliases();
    if (!existing) added.push_back(addr);
    (existing ? result.updated : result.added)++;
    batch.push_back(std::move(su));
  }
  std::lock_guard<std::mutex> alias_lock(alias_mu_);
  // A new user's address that was an alias becomes the user's (alias_admin.h).
  for (const auto& addr : added) SG_RETURN_IF_ERROR(DropAliasLocked(addr));
  SG_RETURN_IF_ERROR(store_->PutUsers(batch));
  for (const auto& u : batch) changes_.Publish("user", u.address());
  return result;
}

Status KeyServiceImpl::RemoveUser(const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(address));
  SG_ASSIGN_OR_RETURN(auto existing, store_->GetUser(addr));
  if (!existing) return MakeError(ErrorCode::kNotFound, "no user " + addr);
  RevokeAllOf(addr);
  {
    std::lock_guard<std::mutex> alias_lock(alias_mu_);
    SG_RETURN_IF_ERROR(store_->DeleteUser(addr));  // and its aliases
  }
  changes_.Publish("user", addr);
  for (const auto& alias : existing->aliases()) changes_.Publish("user", alias);
  return OkStatus();
}

Result<std::vector<User>> KeyServiceImpl::ListUsers(const std::string& domain) {
  std::string want;
  if (!domain.empty()) {
    SG_ASSIGN_OR_RETURN(want, NormalizeDomain(domain));
  }
  SG_ASSIGN_OR_RETURN(auto users, store_->ListUsers());
  std::vector<User> out;
  for (const auto& u : users) {
    if (!want.empty() && DomainOf(u.address()) != want) continue;
    out.push_back(User{u.address(), u.participating(), u.tenant()});
  }
  return out;
}

Status KeyServiceImpl::AddDomain(const Domain& domain) {
  SG_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain.name));
  std::lock_guard<std::mutex> lock(tenant_mu_);
  SG_ASSIGN_OR_RETURN(std::string tenant, TenantForDomain(domain.tenant));
  // Keeps the domain's validation (domain_validation.h) and, without a
  // tenant named, the tenant of a domain that exists (tenant_service.cc).
  SG_RETURN_IF_ERROR(validation_->Update(name, [&](store::StoredDomain& sd) {
    if (!tenant.empty() || sd.tenant().empty()) {
      sd.set_tenant(tenant.empty() ? kDefaultTenant : tenant);
    }
  }));
  UpdateUnvalidatedGauge();
  changes_.Publish("domain", "@" + name);
  return OkStatus();
}

Result<std::vector<Domain>> KeyServiceImpl::ListDomains() {
  SG_ASSIGN_OR_RETURN(auto domains, store_->ListDomains());
  std::vector<Domain> out;
  out.reserve(domains.size());
  for (const auto& d : domains) out.push_back(DomainView(d));
  return out;
}

Result<std::vector<CertificateInfo>> KeyServiceImpl::ListCertificates(const std::string& owner,
                                                                      const std::string& kind) {
  std::string want_owner;
  if (!owner.empty()) {
    if (IsDomainOwner(owner)) {
      SG_ASSIGN_OR_RETURN(std::string d, NormalizeDomain(owner.substr(1)));
      want_owner = "@" + d;
    } else {
      SG_ASSIGN_OR_RETURN(want_owner, NormalizeAddress(owner));
    }
  }
  auto wanted = [&](const std::string& k) { return kind.empty() || kind == k; };
  std::vector<CertificateInfo> out;

  SG_ASSIGN_OR_RETURN(auto keys, store_->ListKeys(want_owner));
  std::map<std::string, std::string> current_key;  // owner -> key_id
  for (const auto& k : keys) {
    std::string k_kind = IsDomainOwner(k.owner()) ? "own-domain" : "own";
    if (!wanted(k_kind)) continue;
    if (!current_key.count(k.owner())) {
      SG_ASSIGN_OR_RETURN(auto cur, CurrentKey(k.owner()));
      current_key[k.owner()] = cur ? cur->key_id() : "";
    }
    CertificateInfo info = InfoFor(k.certificate_der(), k.owner(), k_kind);
    info.has_private_key = true;
    info.current = current_key[k.owner()] == k.key_id();
    out.push_back(std::move(info));
  }
  SG_ASSIGN_OR_RETURN(auto certs, store_->ListCerts(want_owner));
  std::map<std::string, std::string> best;  // owner -> fingerprint
  for (const auto& c : certs) {
    std::string c_kind = IsDomainOwner(c.owner()) ? "partner-domain" : "partner";
    if (!wanted(c_kind)) continue;
    if (!best.count(c.owner())) {
      SG_ASSIGN_OR_RETURN(auto b, BestCert(c.owner()));
      best[c.owner()] = b ? b->fingerprint() : "";
    }
    CertificateInfo info = InfoFor(c.der(), c.owner(), c_kind);
    info.current = best[c.owner()] == c.fingerprint();
    out.push_back(std::move(info));
  }
  if (wanted("pending")) {
    SG_ASSIGN_OR_RETURN(auto pending, store_->ListPending());
    for (const auto& p : pending) {
      if (!want_owner.empty() && p.owner() != want_owner) continue;
      out.push_back(InfoFor(p.der(), p.owner(), "pending"));
    }
  }
  if (wanted("trust") && want_owner.empty()) {
    SG_ASSIGN_OR_RETURN(auto anchors, store_->ListTrust());
    for (const auto& a : anchors) out.push_back(InfoFor(a.der(), "", "trust"));
  }
  return out;
}

Result<std::vector<std::string>> KeyServiceImpl::ImportCertificates(
    const std::string& owner, const std::vector<std::string>& der) {
  std::string norm_owner;
  bool domain = IsDomainOwner(owner);
  if (domain) {
    SG_ASSIGN_OR_RETURN(std::string d, NormalizeDomain(owner.substr(1)));
    norm_owner = "@" + d;
  } else {
    SG_ASSIGN_OR_RETURN(norm_owner, NormalizeAddress(owner));
  }
  if (der.empty()) return MakeError(ErrorCode::kInvalidArgument, "no certificates to import");
  // Validate all first: an import is all or nothing.
  std::vector<store::StoredCert> records;
  auto now = clock_.Now();
  for (size_t i = 0; i < der.size(); ++i) {
    std::string where = "certificate " + std::to_string(i + 1);
    auto x = ParseCertificateDer(der[i]);
    if (!x.ok()) {
      return MakeError(ErrorCode::kInvalidArgument, where + ": " + x.error().message);
    }
    // Domain certificates name the domain in many ways (CN, dNSName, a
    // mailbox of the domain); the admin's choice of owner decides.
    Validation v = CheckLeaf(x->get(), domain ? "" : norm_owner, now);
    if (v.verdict != Verdict::kOk) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + " (" + SubjectText(x->get()) + ") " + v.reason);
    }
    store::StoredCert sc;
    sc.set_owner(norm_owner);
    sc.set_fingerprint(Fingerprint(der[i]));
    sc.set_der(der[i]);
    sc.set_source("imported");
    sc.set_added_at(NowMicros(clock_));
    sc.set_not_before(NotBefore(x->get()));
    sc.set_not_after(NotAfter(x->get()));
    records.push_back(std::move(sc));
  }
  std::vector<std::string> fingerprints;
  std::lock_guard<std::mutex> lock(StripeFor(norm_owner));
  for (const auto& r : records) {
    SG_RETURN_IF_ERROR(store_->PutCert(r));
    fingerprints.push_back(r.fingerprint());
  }
  changes_.Publish("certificate", norm_owner);
  return fingerprints;
}

Result<uint32_t> KeyServiceImpl::PromotePending() {
  SG_ASSIGN_OR_RETURN(auto pending, store_->ListPending());
  uint32_t promoted = 0;
  auto now = clock_.Now();
  for (const auto& p : pending) {
    auto x = ParseCertificateDer(p.der());
    if (!x.ok()) continue;
    std::vector<X509Ptr> chain;
    for (const auto& d : p.chain_der()) {
      auto c = ParseCertificateDer(d);
      if (c.ok()) chain.push_back(std::move(*c));
    }
    ValidationOptions opts;
    opts.address = p.owner();
    if (trust_.Validate(x->get(), chain, opts, now).verdict != Verdict::kOk) continue;
    store::StoredCert sc;
    sc.set_owner(p.owner());
    sc.set_fingerprint(p.fingerprint());
    sc.set_der(p.der());
    *sc.mutable_chain_der() = p.chain_der();
    sc.set_smime_capabilities_der(p.smime_capabilities_der());
    *sc.mutable_capabilities() = p.capabilities();
    sc.set_source("harvested");
    sc.set_added_at(NowMicros(clock_));
    sc.set_not_before(NotBefore(x->get()));
    sc.set_not_after(NotAfter(x->get()));
    SG_RETURN_IF_ERROR(store_->PutCert(sc));
    SG_RETURN_IF_ERROR(store_->DeletePending(p.fingerprint()));
    changes_.Publish("certificate", p.owner());
    ++promoted;
  }
  return promoted;
}

Result<TrustAddResult> KeyServiceImpl::TrustAdd(const std::vector<std::string>& der) {
  return AddAnchors(der, kOriginAdmin);
}

Result<TrustAddResult> KeyServiceImpl::AddAnchors(const std::vector<std::string>& der,
                                                  const std::string& origin) {
  if (der.empty()) return MakeError(ErrorCode::kInvalidArgument, "no certificates to trust");
  std::vector<store::StoredTrust> records;
  for (size_t i = 0; i < der.size(); ++i) {
    std::string where = "certificate " + std::to_string(i + 1);
    auto x = ParseCertificateDer(der[i]);
    if (!x.ok()) return MakeError(ErrorCode::kInvalidArgument, where + ": " + x.error().message);
    if (X509_check_ca(x->get()) == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + " (" + SubjectText(x->get()) +
                           ") is not a CA certificate (basicConstraints CA:TRUE missing); trust "
                           "the CA that issued it instead");
    }
    store::StoredTrust st;
    st.set_fingerprint(Fingerprint(der[i]));
    st.set_der(der[i]);
    st.set_added_at(UnixSeconds(clock_.Now()));
    st.set_origin(origin);
    records.push_back(std::move(st));
  }
  std::lock_guard<std::mutex> lock(trust_mu_);
  TrustAddResult result;
  for (const auto& r : records) {
    SG_RETURN_IF_ERROR(store_->PutTrust(r));
    result.fingerprints.push_back(r.fingerprint());
    changes_.Publish("trust", r.fingerprint());
  }
  SG_RETURN_IF_ERROR(ReloadTrust());
  SG_ASSIGN_OR_RETURN(result.promoted_pending, PromotePending());
  return result;
}

Result<TrustAddResult> KeyServiceImpl::TrustApprovePending(const std::string& fingerprint) {
  SG_ASSIGN_OR_RETURN(auto pending, store_->GetPending(fingerprint));
  if (!pending) return MakeError(ErrorCode::kNotFound, "no pending certificate " + fingerprint);
  // Walk up the chain that came with the certificate to its topmost CA.
  SG_ASSIGN_OR_RETURN(X509Ptr leaf, ParseCertificateDer(pending->der()));
  std::vector<X509Ptr> chain;
  std::vector<std::string> chain_der;
  for (const auto& d : pending->chain_der()) {
    auto c = ParseCertificateDer(d);
    if (c.ok()) {
      chain.push_back(std::move(*c));
      chain_der.push_back(d);
    }
  }
  X509* current = leaf.get();
  int top = -1;
  for (size_t step = 0; step < chain.size(); ++step) {
    int next = -1;
    for (size_t i = 0; i < chain.size(); ++i) {
      if (chain[i].get() != current && X509_check_issued(chain[i].get(), current) == X509_V_OK) {
        next = static_cast<int>(i);
        break;
      }
    }
    if (next < 0) break;
    top = next;
    current = chain[next].get();
    if (X509_check_issued(current, current) == X509_V_OK) break;  // self-signed root
  }
  if (top < 0) {
    return MakeError(ErrorCode::kNotFound,
                     "the pending certificate came without its CA certificate; get the CA "
                     "certificate from the partner and add it with `smimegatectl trust add`");
  }
  return AddAnchors({chain_der[static_cast<size_t>(top)]}, kOriginApproved);
}

Status KeyServiceImpl::TrustRemove(const std::string& fingerprint) {
  std::lock_guard<std::mutex> lock(trust_mu_);
  SG_RETURN_IF_ERROR(store_->DeleteTrust(fingerprint));
  SG_RETURN_IF_ERROR(ReloadTrust());
  changes_.Publish("trust", fingerprint);
  return OkStatus();
}

Result<TrustSourceList> KeyServiceImpl::TrustSources() {
  TrustSourceList out;
  const StartupAnchors& sources = trust_.sources();
  out.mozilla_origin = sources.mozilla_origin;
  out.mozilla_extracted_at = sources.mozilla_extracted_at;
  out.system_file = sources.system_file;
  for (const auto& a : trust_.Anchors()) {
    out.anchors.push_back(InfoFor(a.der, "", "trust"));
    out.anchors.back().origin = a.origin;
  }
  return out;
}

Result<CaCertificates> KeyServiceImpl::CaExport() {
  CaCertificates out{ca_->RootCertificateDer(), ca_->IssuingCertificateDer(), {}};
  for (const auto& c : ca_->AllCas()) {
    out.all.push_back({c.label.empty() ? "default" : c.label,
                       c.backend.empty() ? config_.ca.backend : c.backend, c.root_der,
                       c.issuing_der});
  }
  return out;
}

Result<KeyImportResult> KeyServiceImpl::ImportKey(const std::string& owner,
                                                  const std::string& pkcs12,
                                                  const std::string& password) {
  std::string norm_owner;
  bool domain = IsDomainOwner(owner);
  if (domain) {
    SG_ASSIGN_OR_RETURN(std::string d, NormalizeDomain(owner.substr(1)));
    norm_owner = "@" + d;
  } else {
    SG_ASSIGN_OR_RETURN(norm_owner, NormalizeAddress(owner));
  }
  std::string dom = domain ? norm_owner.substr(1) : DomainOf(norm_owner);
  if (!IsHosted(dom)) {
    return MakeError(ErrorCode::kNotFound, "domain " + dom + " is not hosted (add it with "
                                           "`smimegatectl domain add " + dom + "`)");
  }
  SG_ASSIGN_OR_RETURN(ParsedPkcs12 p12, ParsePkcs12(pkcs12, password));
  if (!CertificateMatchesKey(p12.certificate.get(), p12.key.get())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the certificate in the PKCS#12 file does not belong to its private key");
  }
  if (!domain) {
    auto names = EmailAddresses(p12.certificate.get());
    if (std::find(names.begin(), names.end(), norm_owner) == names.end()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the certificate in the PKCS#12 file (" +
                           SubjectText(p12.certificate.get()) + ") does not name " + norm_owner);
    }
  }
  SG_ASSIGN_OR_RETURN(std::string cert_der, CertificateToDer(p12.certificate.get()));
  SG_ASSIGN_OR_RETURN(std::string key_der, PrivateKeyToDer(p12.key.get()));
  store::StoredKey sk;
  sk.set_owner(norm_owner);
  sk.set_key_id(RandomId());
  sk.set_sealed_private_key(kek_.Seal(key_der, KeyAad(norm_owner, sk.key_id())));
  OPENSSL_cleanse(key_der.data(), key_der.size());
  sk.set_certificate_der(cert_der);
  for (const auto& c : p12.chain) {
    // Send intermediates, not the root, with signatures.
    if (X509_check_issued(c.get(), c.get()) == X509_V_OK) continue;
    auto d = CertificateToDer(c.get());
    if (d.ok()) sk.add_chain_der(*d);
  }
  sk.set_source("imported");
  sk.set_not_before(NotBefore(p12.certificate.get()));
  sk.set_not_after(NotAfter(p12.certificate.get()));
  {
    std::lock_guard<std::mutex> lock(StripeFor(norm_owner));
    SG_ASSIGN_OR_RETURN(int64_t added_at, NextAddedAt(norm_owner));
    sk.set_added_at(added_at);
    SG_RETURN_IF_ERROR(store_->PutKey(sk));
  }
  metrics_.keys_imported.Inc();
  changes_.Publish("key", norm_owner);
  spdlog::info("keyservice: imported key {} for {}", sk.key_id(), norm_owner);
  return KeyImportResult{sk.key_id(), Fingerprint(cert_der)};
}

Result<KeyImportResult> KeyServiceImpl::Rollover(const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(address));
  SG_ASSIGN_OR_RETURN(auto user, store_->GetUser(addr));
  if (!user) return MakeError(ErrorCode::kNotFound, "no user " + addr);
  std::lock_guard<std::mutex> lock(StripeFor(addr));
  SG_ASSIGN_OR_RETURN(auto key, IssueKey(addr, "admin"));
  return KeyImportResult{key.key_id(), Fingerprint(key.certificate_der())};
}

Status KeyServiceImpl::RevokeAtCa(const store::StoredKey& key, int reason) {
  Status revoked = ca_->Revoke(key.certificate_der(), reason);
  log::Event event("keyservice");
  event.Field("action", revoked.ok() ? "revoked" : "revoke_failed")
      .Field("address", key.owner())
      .Field("key_id", key.key_id())
      .Field("reason", CrlReasonName(reason));
  if (revoked.ok()) {
    event.Info();
  } else {
    event.Field("error", revoked.error().ToString()).Warn();
  }
  return revoked;
}

Result<RevokeResult> KeyServiceImpl::RevokeKey(const std::string& address,
                                               const std::string& reason) {
  SG_ASSIGN_OR_RETURN(int code, CrlReasonCode(reason));
  SG_ASSIGN_OR_RETURN(std::string addr, NormalizeAddress(address));
  SG_ASSIGN_OR_RETURN(auto user, store_->GetUser(addr));
  if (!user) return MakeError(ErrorCode::kNotFound, "no user " + addr);
  std::lock_guard<std::mutex> lock(StripeFor(addr));
  SG_ASSIGN_OR_RETURN(auto current, CurrentKey(addr));
  if (!current) return MakeError(ErrorCode::kNotFound, addr + " has no current certificate");
  SG_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificateDer(current->certificate_der()));
  // First the CA: when it refuses or is down, nothing changed and the admin
  // runs the command again (a rollover first would make a retry revoke the new key).
  SG_RETURN_IF_ERROR(RevokeAtCa(*current, code));
  RevokeResult out;
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
  char* hex = bn != nullptr ? BN_bn2hex(bn) : nullptr;
  out.revoked_serial = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  out.revoked_fingerprint = Fingerprint(current->certificate_der());
  SG_ASSIGN_OR_RETURN(auto key, IssueKey(addr, "revoked"));
  out.replacement = KeyImportResult{key.key_id(), Fingerprint(key.certificate_der())};
  return out;
}

void KeyServiceImpl::RevokeAllOf(const std::string& addr) {
  auto keys = store_->ListKeys(addr);
  if (!keys.ok()) return;  // the removal goes on; nothing to revoke can be found
  for (const auto& k : *keys) {
    if (k.source() != "issued" || !KeyValidNow(k)) continue;  // imported or expired
    RevokeAtCa(k, 5).PermitUncheckedError();  // cessationOfOperation; logged either way
  }
}

}  // namespace sg::keyservice
