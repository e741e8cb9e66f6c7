#include "tests/workers/policy/fake_key_service.h"

#include <openssl/x509.h>

#include "common/mail/address.h"

namespace sg::workers::testing {
namespace {

Error Down() { return MakeError(ErrorCode::kUnavailable, "fake keyservice: unavailable"); }

// "@example.com": the owner of a domain certificate.
std::string DomainOwner(const std::string& address) { return "@" + mail::DomainOf(address); }

}  // namespace

std::string CertDer(const X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

std::string KeyDer(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  int len = i2d_PrivateKey(key, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

void FakeKeyService::AddParticipant(const std::string& address,
                                    const smime::testing::TestIdentity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  keyservice::SigningIdentity s;
  s.address = address;
  s.key_id = "key-" + id.name;
  s.private_key_der = KeyDer(id.key.get());
  s.certificate_der = CertDer(id.cert.get());
  s.chain_der.push_back(CertDer(smime::testing::GetTestPki().intermediate.cert.get()));
  signing_[address] = s;
}

void FakeKeyService::AddCertificate(const std::string& address,
                                    const smime::testing::TestIdentity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  certs_[address] = keyservice::EncryptionCertificate{address, CertDer(id.cert.get()), "", {}, false, "", {}};
}

void FakeKeyService::AddDomainCertificate(const std::string& domain,
                                          const smime::testing::TestIdentity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  certs_["@" + domain] =
      keyservice::EncryptionCertificate{"@" + domain, CertDer(id.cert.get()), "", {}, true, "", {}};
}

void FakeKeyService::AddDecryptionKey(const std::string& address,
                                      const smime::testing::TestIdentity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_[address].push_back(keyservice::DecryptionKey{"key-" + id.name, address,
                                                     KeyDer(id.key.get()), CertDer(id.cert.get())});
}

void FakeKeyService::AddAnchor(const X509* cert) {
  std::lock_guard<std::mutex> lock(mu_);
  anchors_.push_back(CertDer(cert));
}

std::optional<Error> FakeKeyService::AddressError(const std::string& address) {
  ++calls_[address];
  auto f = fail_for.find(address);
  if (f != fail_for.end() && f->second.times != 0) {
    if (f->second.times > 0) --f->second.times;
    return MakeError(f->second.code, "fake keyservice: failing for <" + address + ">");
  }
  // As the keyservice: an address the one normaliser refuses is an error.
  if (auto n = mail::NormalizeAddress(address); !n.ok()) return n.error();
  return std::nullopt;
}

int FakeKeyService::calls_for(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(address);
  return it == calls_.end() ? 0 : it->second;
}

Result<std::optional<keyservice::SigningIdentity>> FakeKeyService::GetSigningIdentity(
    const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unavailable) return Down();
  auto it = signing_.find(address);
  if (it == signing_.end()) return std::optional<keyservice::SigningIdentity>();
  return std::optional<keyservice::SigningIdentity>(it->second);
}

Result<std::optional<keyservice::EncryptionCertificate>> FakeKeyService::GetEncryptionCertificate(
    const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unavailable) return Down();
  if (auto e = AddressError(address)) return *e;
  // As the keyservice: the personal certificate first, with the partner
  // domain certificate alongside; else the domain certificate.
  auto personal = certs_.find(address);
  auto domain = certs_.find(DomainOwner(address));
  if (personal != certs_.end()) {
    keyservice::EncryptionCertificate out = personal->second;
    if (domain != certs_.end()) {
      out.domain_certificate_der = domain->second.certificate_der;
      out.domain_capabilities = domain->second.capabilities;
    }
    return std::optional<keyservice::EncryptionCertificate>(std::move(out));
  }
  if (domain != certs_.end()) {
    return std::optional<keyservice::EncryptionCertificate>(domain->second);
  }
  return std::optional<keyservice::EncryptionCertificate>();
}

Result<std::vector<keyservice::DecryptionKey>> FakeKeyService::GetDecryptionKeys(
    const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unavailable) return Down();
  if (auto e = AddressError(address)) return *e;
  std::vector<keyservice::DecryptionKey> out;
  for (const std::string& key : {address, DomainOwner(address)}) {
    auto it = keys_.find(key);
    if (it != keys_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

Result<bool> FakeKeyService::Participates(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unavailable) return Down();
  if (auto e = AddressError(address)) return *e;
  return signing_.count(address) > 0;
}

Result<keyservice::HarvestResult> FakeKeyService::HarvestCertificate(
    const keyservice::HarvestRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unavailable) return Down();
  harvested_.push_back(request);
  certs_[request.address] =
      keyservice::EncryptionCertificate{request.address, request.certificate_der, "",
                                       request.capabilities, false, "", {}};
  keyservice::HarvestResult r;
  r.outcome = keyservice::HarvestOutcome::kStored;
  return r;
}

Result<keyservice::TrustAnchors> FakeKeyService::GetTrustAnchors() {
  std::lock_guard<std::mutex> lock(mu_);
  if (unavailable) return Down();
  return keyservice::TrustAnchors{anchors_, anchors_.size()};
}

Result<keyservice::Changes> FakeKeyService::WaitForChanges(uint64_t, uint64_t,
                                                           std::chrono::milliseconds) {
  return keyservice::Changes{};
}

std::vector<keyservice::HarvestRequest> FakeKeyService::harvested() const {
  std::lock_guard<std::mutex> lock(mu_);
  return harvested_;
}

}  // namespace sg::workers::testing
