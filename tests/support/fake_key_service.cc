#include "tests/support/fake_key_service.h"

#include <thread>

#include "common/mail/address.h"
#include "tests/support/test_pki.h"

namespace sg::testing {
namespace {

using keyservice::DecryptionKey;
using keyservice::EncryptionCertificate;
using keyservice::SigningIdentity;

// "@example.com": the owner of a domain certificate or key.
std::string DomainOwner(const std::string& address) { return "@" + mail::DomainOf(address); }

}  // namespace

FakeKeyService::FakeKeyService() : log_(std::make_unique<keyservice::ChangeLog>()) {}

void FakeKeyService::SetCertificate(const std::string& address,
                                    std::optional<EncryptionCertificate> cert) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    certs_[address] = std::move(cert);
  }
  Publish("certificate", address);
}

void FakeKeyService::SetSigning(const std::string& address, SigningIdentity id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    signing_[address] = std::move(id);
  }
  Publish("key", address);
}

void FakeKeyService::SetDecryptionKeys(const std::string& address, std::vector<DecryptionKey> keys) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    decryption_[address] = std::move(keys);
  }
  Publish("key", address);
}

void FakeKeyService::SetAnchors(std::vector<std::string> der) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    anchors_.der = std::move(der);
    ++anchors_.version;
  }
  Publish("trust", "");
}

void FakeKeyService::AddParticipant(const std::string& address, EVP_PKEY* key, const X509* cert,
                                    const X509* chain) {
  SigningIdentity s;
  s.address = address;
  s.private_key_der = KeyDer(key);
  s.certificate_der = CertDer(cert);
  s.key_id = "signing-key-" + address;
  if (chain != nullptr) s.chain_der.push_back(CertDer(chain));
  SetSigning(address, std::move(s));
}

void FakeKeyService::AddCertificate(const std::string& address, const X509* cert) {
  SetCertificate(address, EncryptionCertificate{address, CertDer(cert), "", {}, false, "", {}});
}

void FakeKeyService::AddDomainCertificate(const std::string& domain, const X509* cert) {
  const std::string owner = "@" + domain;
  SetCertificate(owner, EncryptionCertificate{owner, CertDer(cert), "", {}, true, "", {}});
}

void FakeKeyService::AddDecryptionKey(const std::string& address, EVP_PKEY* key, const X509* cert) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& keys = decryption_[address];
    keys.push_back(DecryptionKey{"key-" + address + "-" + std::to_string(keys.size() + 1), address,
                                 KeyDer(key), CertDer(cert)});
  }
  Publish("key", address);
}

void FakeKeyService::AddAnchor(const X509* cert) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    anchors_.der.push_back(CertDer(cert));
    ++anchors_.version;
  }
  Publish("trust", "");
}

void FakeKeyService::Publish(const std::string& kind, const std::string& subject) {
  Log()->Publish(kind, subject);
}

void FakeKeyService::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  retired_.push_back(std::move(log_));
  log_ = std::make_unique<keyservice::ChangeLog>();
}

uint64_t FakeKeyService::epoch() { return Log()->epoch(); }

std::vector<keyservice::HarvestRequest> FakeKeyService::harvested() const {
  std::lock_guard<std::mutex> lock(mu_);
  return harvested_;
}

Result<std::optional<SigningIdentity>> FakeKeyService::GetSigningIdentity(
    const std::string& address) {
  SG_RETURN_IF_ERROR(Enter(signing_calls));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto f = signing_fail_for.find(address);
      f != signing_fail_for.end() && f->second.times != 0) {
    if (f->second.times > 0) --f->second.times;
    return MakeError(f->second.code, "fake keyservice: no signing identity for <" + address + ">");
  }
  auto it = signing_.find(address);
  if (it == signing_.end()) return std::optional<SigningIdentity>();
  return std::optional<SigningIdentity>(it->second);
}

Result<std::optional<EncryptionCertificate>> FakeKeyService::GetEncryptionCertificate(
    const std::string& address) {
  SG_RETURN_IF_ERROR(Enter(encryption_calls));
  SG_RETURN_IF_ERROR(AddressCheck(address));
  std::optional<EncryptionCertificate> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto personal = certs_.find(address);
    auto domain = certs_.find(DomainOwner(address));
    const bool has_domain = domain != certs_.end() && domain->second.has_value();
    if (personal != certs_.end() && personal->second.has_value()) {
      out = personal->second;
      if (has_domain) {
        out->domain_certificate_der = domain->second->certificate_der;
        out->domain_capabilities = domain->second->capabilities;
      }
    } else if (has_domain) {
      out = domain->second;
    }
  }
  if (on_fetch) on_fetch(address);
  return out;
}

Result<std::vector<DecryptionKey>> FakeKeyService::GetDecryptionKeys(const std::string& address) {
  SG_RETURN_IF_ERROR(Enter(decryption_calls));
  SG_RETURN_IF_ERROR(AddressCheck(address));
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<DecryptionKey> out;
  for (const std::string& owner : {address, DomainOwner(address)}) {
    auto it = decryption_.find(owner);
    if (it != decryption_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

Result<bool> FakeKeyService::Participates(const std::string& address) {
  SG_RETURN_IF_ERROR(Enter(participation_calls));
  SG_RETURN_IF_ERROR(AddressCheck(address));
  std::lock_guard<std::mutex> lock(mu_);
  return signing_.count(address) > 0;
}

Result<keyservice::HarvestResult> FakeKeyService::HarvestCertificate(
    const keyservice::HarvestRequest& request) {
  SG_RETURN_IF_ERROR(Enter(harvest_calls));
  std::lock_guard<std::mutex> lock(mu_);
  harvested_.push_back(request);
  keyservice::HarvestResult r;
  r.outcome = harvest_outcome.load();
  if (r.outcome != keyservice::HarvestOutcome::kStored) return r;
  if (!harvested_der_.insert(request.certificate_der).second) {
    r.outcome = keyservice::HarvestOutcome::kUnchanged;
    return r;
  }
  certs_[request.address] = EncryptionCertificate{request.address, request.certificate_der, "",
                                                  request.capabilities, false, "", {}};
  return r;
}

Result<keyservice::TrustAnchors> FakeKeyService::GetTrustAnchors() {
  SG_RETURN_IF_ERROR(Enter(anchor_calls));
  std::lock_guard<std::mutex> lock(mu_);
  return anchors_;
}

void FakeKeyService::SetHostedDomains(std::vector<keyservice::HostedDomain> domains) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    domains_ = std::move(domains);
  }
  Publish("domain", "@");
}

Result<std::vector<keyservice::HostedDomain>> FakeKeyService::TenantDomains() {
  SG_RETURN_IF_ERROR(Enter(domain_calls));
  std::lock_guard<std::mutex> lock(mu_);
  return domains_;
}

void FakeKeyService::SetTenantPolicies(std::vector<keyservice::TenantPolicy> policies) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    policies_ = std::move(policies);
  }
  Publish("tenant", "t");
}

void FakeKeyService::SetGlobalRules(std::vector<keyservice::TenantRule> rules) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    global_rules_ = std::move(rules);
  }
  Publish("policy", "global");
}

Result<keyservice::TenantRoutingTable> FakeKeyService::TenantRouting() {
  SG_RETURN_IF_ERROR(Enter(domain_calls));
  std::lock_guard<std::mutex> lock(mu_);
  keyservice::TenantRoutingTable out;
  out.domains = domains_;
  out.policies = policies_;
  out.global_rules = global_rules_;
  return out;
}

void FakeKeyService::SetDkimKey(const std::string& domain, keyservice::DkimSigningKey key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    dkim_.insert_or_assign(domain, std::move(key));
  }
  Publish("dkim", "@" + domain);
}

void FakeKeyService::SetDkimError(const std::string& domain, Error error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    dkim_.insert_or_assign(domain, std::move(error));
  }
  Publish("dkim", "@" + domain);
}

Result<std::optional<keyservice::DkimSigningKey>> FakeKeyService::GetDkimKey(
    const std::string& domain) {
  ++dkim_calls;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dkim_.find(domain);
  if (it == dkim_.end()) return std::optional<keyservice::DkimSigningKey>();
  if (!it->second.ok()) return it->second.error();
  return std::optional<keyservice::DkimSigningKey>(*it->second);
}

Result<keyservice::Changes> FakeKeyService::WaitForChanges(uint64_t epoch, uint64_t after_version,
                                                           std::chrono::milliseconds wait) {
  ++wait_calls;
  last_wait_epoch = epoch;
  last_wait_version = after_version;
  if (auto l = latency.load(); l.count() > 0) std::this_thread::sleep_for(l);
  if (unavailable) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return MakeError(ErrorCode::kUnavailable, "fake keyservice: down");
  }
  return Log()->Wait(epoch, after_version, std::min(wait, std::chrono::milliseconds(50)));
}

Status FakeKeyService::Enter(std::atomic<int>& counter) {
  ++counter;
  if (auto l = latency.load(); l.count() > 0) std::this_thread::sleep_for(l);
  if (unavailable) return MakeError(ErrorCode::kUnavailable, "fake keyservice: down");
  return OkStatus();
}

Status FakeKeyService::AddressCheck(const std::string& address) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_[address];
    auto f = fail_for.find(address);
    if (f != fail_for.end() && f->second.times != 0) {
      if (f->second.times > 0) --f->second.times;
      return MakeError(f->second.code, "fake keyservice: failing for <" + address + ">");
    }
  }
  // As the keyservice: an address the one normaliser refuses is an error.
  if (auto n = mail::NormalizeAddress(address); !n.ok()) return n.error();
  return OkStatus();
}

int FakeKeyService::calls_for(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(address);
  return it == calls_.end() ? 0 : it->second;
}

keyservice::ChangeLog* FakeKeyService::Log() {
  std::lock_guard<std::mutex> lock(mu_);
  return log_.get();
}

}  // namespace sg::testing
