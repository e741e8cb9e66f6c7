// KeyServiceImpl's DKIM keys (dkim_admin.h, docs/dkim.md): records
// "dkim/<domain>/<selector>" in the store's meta column family
// (keyservice/dkim_store.proto), the private key sealed under the KEK with
// the record's key as AAD. Writes are serialised by dkim_mu_ and announced
// as change events of kind "dkim", subject "@domain" (the workers' key
// caches drop the domain's entry).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "common/mail/address.h"
#include "keyservice/dkim_keys.h"
#include "keyservice/dkim_store.pb.h"
#include "keyservice/key_service_impl.h"

namespace sg::keyservice {
namespace {

constexpr const char* kDkimPrefix = "dkim/";
constexpr const char* kActive = "active";
constexpr const char* kPublished = "published";
constexpr const char* kRetired = "retired";

std::string RecordKey(const std::string& domain, const std::string& selector) {
  return std::string(kDkimPrefix) + domain + "/" + selector;
}

// "sg20261207": the default selector, one per day.
std::string DefaultSelector(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 16> buf{};
  const size_t n = std::strftime(buf.data(), buf.size(), "sg%Y%m%d", &tm);
  return {buf.data(), n};
}

DkimKeyInfo InfoOf(const store::StoredDkimKey& k) {
  DkimKeyInfo out = DkimKeyInfoFrom(k);
  out.record_name = DkimRecordName(k.selector(), k.domain());
  out.record_value = DkimRecordValue(k.algorithm(), k.public_key());
  return out;
}

Result<std::vector<store::StoredDkimKey>> ParseAll(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  std::vector<store::StoredDkimKey> out;
  for (const auto& [key, value] : rows) {
    store::StoredDkimKey k;
    if (!k.ParseFromString(value)) {
      return MakeError(ErrorCode::kCorruption,
                       "keyservice store: DKIM record " + key + " does not parse");
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace

namespace {

// The keys of one domain ("" = all) from the store.
Result<std::vector<store::StoredDkimKey>> LoadDkim(KeyStore& store, const std::string& domain) {
  std::string prefix = kDkimPrefix;
  if (!domain.empty()) prefix += domain + "/";
  SG_ASSIGN_OR_RETURN(auto rows, store.ScanMetaKeys(prefix));
  return ParseAll(rows);
}

Result<store::StoredDkimKey> LoadOne(KeyStore& store, const std::string& domain,
                                     const std::string& selector) {
  SG_ASSIGN_OR_RETURN(auto value, store.GetMeta(RecordKey(domain, selector)));
  if (!value) {
    return MakeError(ErrorCode::kNotFound, "DKIM key " + selector + " of " + domain +
                                               " does not exist (see smimegatectl dkim list)");
  }
  store::StoredDkimKey k;
  if (!k.ParseFromString(*value)) {
    return MakeError(ErrorCode::kCorruption, "keyservice store: DKIM record " +
                                                 RecordKey(domain, selector) + " does not parse");
  }
  return k;
}

Status Save(KeyStore& store, const store::StoredDkimKey& k) {
  return store.PutMeta(RecordKey(k.domain(), k.selector()), k.SerializeAsString());
}

}  // namespace

Result<std::optional<DkimSigningKey>> KeyServiceImpl::GetDkimKey(const std::string& domain) {
  SG_ASSIGN_OR_RETURN(std::string name, mail::NormalizeDomain(domain));
  SG_ASSIGN_OR_RETURN(auto keys, LoadDkim(*store_, name));
  // The active one; after a crash between the two writes of an activation,
  // the one activated last.
  const store::StoredDkimKey* best = nullptr;
  for (const auto& k : keys) {
    if (k.state() != kActive) continue;
    if (best == nullptr || k.activated_at() > best->activated_at()) best = &k;
  }
  if (best == nullptr) return std::optional<DkimSigningKey>();
  auto plain = kek_.Open(best->sealed_private_key(), RecordKey(name, best->selector()));
  if (!plain.ok()) {
    return MakeError(ErrorCode::kCorruption, "keyservice: DKIM key " + best->selector() + " of " +
                                                 name + " does not open: " + plain.error().message);
  }
  DkimSigningKey out{name, best->selector(), best->algorithm(), std::move(*plain)};
  return std::optional<DkimSigningKey>(std::move(out));
}

Result<DkimKeyInfo> KeyServiceImpl::DkimKeygen(const std::string& domain,
                                               const std::string& selector,
                                               const std::string& algorithm) {
  SG_ASSIGN_OR_RETURN(std::string name, mail::NormalizeDomain(domain));
  if (!IsHosted(name)) {
    return MakeError(ErrorCode::kNotFound, "domain " + name + " is not hosted (add it first)");
  }
  const int64_t now = UnixSeconds(clock_.Now());
  SG_ASSIGN_OR_RETURN(std::string sel,
                      ParseDkimSelector(selector.empty() ? DefaultSelector(now) : selector));
  SG_ASSIGN_OR_RETURN(std::string alg, ParseDkimAlgorithm(algorithm));
  std::lock_guard<std::mutex> lock(dkim_mu_);
  SG_ASSIGN_OR_RETURN(auto existing, store_->GetMeta(RecordKey(name, sel)));
  if (existing) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "DKIM selector " + sel + " of " + name + " exists; choose another --selector");
  }
  SG_ASSIGN_OR_RETURN(DkimKeyMaterial material, GenerateDkimKey(alg));
  store::StoredDkimKey k;
  k.set_domain(name);
  k.set_selector(sel);
  k.set_algorithm(alg);
  k.set_sealed_private_key(kek_.Seal(material.private_key_der, RecordKey(name, sel)));
  k.set_public_key(material.public_key);
  k.set_created_at(now);
  k.set_state(kPublished);
  SG_RETURN_IF_ERROR(Save(*store_, k));
  changes_.Publish("dkim", "@" + name);
  spdlog::info("keyservice: DKIM key {} ({}) generated for {}", sel, alg, name);
  return InfoOf(k);
}

Result<std::vector<DkimKeyInfo>> KeyServiceImpl::DkimList(const std::string& domain) {
  std::string name;
  if (!domain.empty()) {
    SG_ASSIGN_OR_RETURN(name, mail::NormalizeDomain(domain));
  }
  SG_ASSIGN_OR_RETURN(auto keys, LoadDkim(*store_, name));
  std::vector<DkimKeyInfo> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(InfoOf(k));
  std::sort(out.begin(), out.end(), [](const DkimKeyInfo& a, const DkimKeyInfo& b) {
    return std::tie(a.domain, a.selector) < std::tie(b.domain, b.selector);
  });
  return out;
}

Result<DkimKeyInfo> KeyServiceImpl::DkimActivate(const std::string& domain,
                                                 const std::string& selector) {
  SG_ASSIGN_OR_RETURN(std::string name, mail::NormalizeDomain(domain));
  SG_ASSIGN_OR_RETURN(std::string sel, ParseDkimSelector(selector));
  std::lock_guard<std::mutex> lock(dkim_mu_);
  SG_ASSIGN_OR_RETURN(store::StoredDkimKey k, LoadOne(*store_, name, sel));
  if (k.state() == kActive) return InfoOf(k);
  // The new key first: a crash before the old one is retired leaves two
  // active keys, and GetDkimKey takes the one activated last.
  k.set_state(kActive);
  k.set_activated_at(std::max<int64_t>(UnixSeconds(clock_.Now()), k.activated_at()));
  SG_ASSIGN_OR_RETURN(auto keys, LoadDkim(*store_, name));
  for (const auto& other : keys) {
    if (other.selector() != sel && other.state() == kActive) {
      k.set_activated_at(std::max(k.activated_at(), other.activated_at() + 1));
    }
  }
  SG_RETURN_IF_ERROR(Save(*store_, k));
  for (auto& other : keys) {
    if (other.selector() == sel || other.state() != kActive) continue;
    other.set_state(kRetired);
    SG_RETURN_IF_ERROR(Save(*store_, other));
  }
  changes_.Publish("dkim", "@" + name);
  spdlog::info("keyservice: DKIM key {} of {} is active", sel, name);
  return InfoOf(k);
}

Status KeyServiceImpl::DkimRemove(const std::string& domain, const std::string& selector) {
  SG_ASSIGN_OR_RETURN(std::string name, mail::NormalizeDomain(domain));
  SG_ASSIGN_OR_RETURN(std::string sel, ParseDkimSelector(selector));
  std::lock_guard<std::mutex> lock(dkim_mu_);
  SG_ASSIGN_OR_RETURN(store::StoredDkimKey k, LoadOne(*store_, name, sel));
  if (k.state() == kActive) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "DKIM key " + sel + " of " + name +
                         " is active; activate another selector first, then remove it");
  }
  SG_RETURN_IF_ERROR(store_->DeleteMeta(RecordKey(name, sel)));
  changes_.Publish("dkim", "@" + name);
  spdlog::info("keyservice: DKIM key {} of {} removed", sel, name);
  return OkStatus();
}

Result<int> KeyServiceImpl::ResealDkimKeys() {
  std::lock_guard<std::mutex> lock(dkim_mu_);
  SG_ASSIGN_OR_RETURN(auto keys, LoadDkim(*store_, ""));
  int resealed = 0;
  for (auto& k : keys) {
    if (kek_.SealedUnderCurrent(k.sealed_private_key())) continue;
    const std::string aad = RecordKey(k.domain(), k.selector());
    auto sealed = kek_.Reseal(k.sealed_private_key(), aad);
    if (!sealed.ok()) {
      return MakeError(sealed.error().code, "keyservice: DKIM key " + k.selector() + " of " +
                                                k.domain() + ": " + sealed.error().message);
    }
    k.set_sealed_private_key(std::move(*sealed));
    SG_RETURN_IF_ERROR(Save(*store_, k));
    ++resealed;
  }
  return resealed;
}

}  // namespace sg::keyservice
