#include "keyservice/key_cache.h"

#include <spdlog/spdlog.h>

#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {

CachingKeyService::CachingKeyService(KeyService& upstream, KeyCacheOptions options)
    : upstream_(upstream), options_(options) {
  watcher_ = std::thread([this] { Watch(); });
}

CachingKeyService::~CachingKeyService() {
  stop_ = true;
  if (watcher_.joinable()) watcher_.join();
}

template <typename T, typename Slot, typename Fetch>
Result<T> CachingKeyService::Cached(const std::string& address, Slot slot, Fetch fetch) {
  SG_ASSIGN_OR_RETURN(std::string key, NormalizeAddress(address));
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      auto& e = it->second.*slot;
      if (e && e->expires > std::chrono::steady_clock::now()) {
        ++hits_;
        return e->value;
      }
    }
    generation = generation_;
  }
  ++misses_;
  SG_ASSIGN_OR_RETURN(T value, fetch(key));
  std::lock_guard<std::mutex> lock(mu_);
  // A change that arrived while we fetched may make `value` stale: serve it
  // (it was current when read) but do not keep it.
  if (generation == generation_) {
    (entries_[key].*slot).emplace(value, std::chrono::steady_clock::now() + options_.ttl);
  }
  return value;
}

Result<std::optional<SigningIdentity>> CachingKeyService::GetSigningIdentity(
    const std::string& address) {
  return Cached<std::optional<SigningIdentity>>(
      address, &PerAddress::signing, [&](const std::string& a) { return upstream_.GetSigningIdentity(a); });
}

Result<std::optional<EncryptionCertificate>> CachingKeyService::GetEncryptionCertificate(
    const std::string& address) {
  return Cached<std::optional<EncryptionCertificate>>(
      address, &PerAddress::encryption,
      [&](const std::string& a) { return upstream_.GetEncryptionCertificate(a); });
}

Result<std::vector<DecryptionKey>> CachingKeyService::GetDecryptionKeys(const std::string& address) {
  return Cached<std::vector<DecryptionKey>>(
      address, &PerAddress::decryption, [&](const std::string& a) { return upstream_.GetDecryptionKeys(a); });
}

Result<bool> CachingKeyService::Participates(const std::string& address) {
  return Cached<bool>(address, &PerAddress::participates,
                      [&](const std::string& a) { return upstream_.Participates(a); });
}

Result<HarvestResult> CachingKeyService::HarvestCertificate(const HarvestRequest& request) {
  return upstream_.HarvestCertificate(request);
}

Result<TrustAnchors> CachingKeyService::GetTrustAnchors() {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (anchors_ && anchors_->expires > std::chrono::steady_clock::now()) {
      ++hits_;
      return anchors_->value;
    }
    generation = generation_;
  }
  ++misses_;
  SG_ASSIGN_OR_RETURN(TrustAnchors anchors, upstream_.GetTrustAnchors());
  std::lock_guard<std::mutex> lock(mu_);
  if (generation == generation_) {
    anchors_.emplace(Entry<TrustAnchors>{anchors, std::chrono::steady_clock::now() + options_.ttl});
  }
  return anchors;
}

Result<Changes> CachingKeyService::WaitForChanges(uint64_t epoch, uint64_t after_version,
                                                  std::chrono::milliseconds wait) {
  return upstream_.WaitForChanges(epoch, after_version, wait);
}

void CachingKeyService::DropAll() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  anchors_.reset();
  ++generation_;
}

void CachingKeyService::Watch() {
  uint64_t epoch = 0, version = 0;
  while (!stop_) {
    auto changes = upstream_.WaitForChanges(epoch, version, epoch == 0 ? std::chrono::milliseconds(0)
                                                                       : options_.poll_wait);
    if (!changes.ok()) {
      // Keyservice unreachable: nothing is known to be current any more.
      DropAll();
      epoch = 0;
      std::this_thread::sleep_for(options_.retry_after_error);
      continue;
    }
    if (changes->reset) {
      DropAll();
    } else if (!changes->events.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++generation_;
      for (const auto& e : changes->events) {
        if (e.kind == "pending") continue;  // nothing cached depends on pending certificates
        if (e.kind == "trust" || e.kind == "domain" || e.subject.empty() || e.subject[0] == '@') {
          entries_.clear();  // domain certificates and keys concern every address of a domain
          anchors_.reset();
          break;
        }
        entries_.erase(e.subject);
      }
    }
    epoch = changes->epoch;
    version = changes->version;
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      ++synced_rounds_;
    }
    sync_cv_.notify_all();
  }
}

void CachingKeyService::WaitUntilSynced(std::chrono::milliseconds timeout) {
  // Two completed rounds after now: the second one started after the call.
  std::unique_lock<std::mutex> lock(sync_mu_);
  uint64_t target = synced_rounds_ + 2;
  sync_cv_.wait_for(lock, timeout, [&] { return synced_rounds_ >= target; });
}

}  // namespace sg::keyservice
