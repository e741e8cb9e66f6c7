#include "keyservice/key_cache.h"

#include <spdlog/spdlog.h>

#include "common/thread_name.h"
#include "keyservice/keyservice_x509.h"

namespace sg::keyservice {
namespace {

// Errors that mean "the keyservice is not answering", as opposed to an
// answer (invalid address, corruption...): only these allow a stale entry.
bool IsDependencyError(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
}

constexpr char kConfigKey[] = "workers.key_cache.path";

}  // namespace

CachingKeyService::CachingKeyService(KeyService& upstream, KeyCacheOptions options,
                                     std::unique_ptr<KeyCacheStore> store)
    : upstream_(upstream),
      options_(options),
      clock_(options.clock ? options.clock : &SystemClock::Instance()),
      store_(std::move(store)) {
  watcher_ = std::thread([this] {
    SetCurrentThreadName("sg-key-cache");
    Watch();
  });
}

CachingKeyService::~CachingKeyService() {
  {
    std::lock_guard<std::mutex> lock(sync_mu_);  // the watcher may be about to wait
    stop_ = true;
  }
  sync_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

Result<std::unique_ptr<CachingKeyService>> CachingKeyService::Open(KeyService& upstream,
                                                                   const KeyCacheConfig& config,
                                                                   metrics::Registry* registry) {
  std::unique_ptr<KeyCacheStore> store;
  if (config.persist) {
    auto opened = KeyCacheStore::Open(config.path, kConfigKey, config.max_stale);
    if (opened.ok()) {
      store = std::move(*opened);
      spdlog::info("worker key cache at {} ({})", config.path,
                   store->position().epoch == 0 ? "cold" : "resuming");
    } else if (opened.error().code == ErrorCode::kUnavailable) {
      return opened.error();  // another worker's directory: sharing it would corrupt both
    } else {
      spdlog::error("{} (the worker key cache runs in memory only)", opened.error().message);
    }
  }
  KeyCacheOptions options;
  options.ttl = config.ttl;
  options.max_stale = config.max_stale;
  std::unique_ptr<KeyCacheMetrics> metrics;
  if (registry) {
    metrics = std::make_unique<KeyCacheMetrics>(*registry);
    options.metrics = metrics.get();
  }
  auto cache = std::make_unique<CachingKeyService>(upstream, options, std::move(store));
  cache->owned_metrics_ = std::move(metrics);
  return cache;
}

template <typename T>
bool CachingKeyService::Fresh(const Entry<T>& e, Time now) const {
  return e.expires > now && (synced_ || (e.contact != 0 && e.contact == contact_));
}

template <typename T>
Result<T> CachingKeyService::Lookup(const Access<T>& access) {
  const bool is_public = static_cast<bool>(access.load);  // private keys have no load/save
  const Time now = Now();
  std::optional<Entry<T>> stale;  // a known answer that is not (known to be) current
  uint64_t generation, contact;
  bool use_store, contact_lost;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* e = access.find(); e && *e) {
      if (Fresh(**e, now)) {
        ++hits_;
        if (options_.metrics) options_.metrics->hits_memory.Inc();
        return (*e)->value;
      }
      if (is_public) stale = **e;
    }
    generation = generation_;
    contact = contact_;  // a fetch spanning a loss of contact is not current by itself
    use_store = is_public && store_ && !store_failed_;
    contact_lost = contact_lost_;
  }
  if (use_store && !stale) {
    if (auto d = access.load()) {  // outside the lock: RocksDB may touch the disk
      Entry<T> e{std::move(d->value), d->expires, 0};
      std::lock_guard<std::mutex> lock(mu_);
      if (generation == generation_) {
        access.slot() = e;
        UpdateEntryGauges();
        if (Fresh(e, now)) {
          ++hits_;
          ++disk_hits_;
          if (options_.metrics) options_.metrics->hits_disk.Inc();
          return e.value;
        }
      }
      stale = std::move(e);
    }
  }

  // The watcher already knows the keyservice is down: answer from the stale
  // entry at once instead of waiting out the RPC deadline for each message.
  if (stale && contact_lost && StaleServable(stale->expires, now)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == generation_ && contact_lost_) {
      ++stale_served_;
      if (options_.metrics) options_.metrics->stale_served.Inc();
      return std::move(stale->value);
    }
  }

  ++misses_;
  if (options_.metrics) options_.metrics->misses.Inc();
  Result<T> fetched = access.fetch();
  if (fetched.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    // A change that arrived while we fetched may make the value stale: serve
    // it (it was current when read) but keep it nowhere.
    if (generation == generation_) {
      Entry<T> e{*fetched, Now() + options_.ttl, contact};
      if (use_store && !store_failed_) {
        Status s = access.save(Persisted<T>{e.value, e.expires});
        if (!s.ok()) {
          store_failed_ = true;
          spdlog::error("{} (the worker key cache continues in memory only)", s.error().message);
        }
      }
      access.slot() = std::move(e);
      UpdateEntryGauges();
    }
    return fetched;
  }
  if (stale && IsDependencyError(fetched.error().code) && StaleServable(stale->expires, now)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == generation_) {  // not invalidated meanwhile
      ++stale_served_;
      if (options_.metrics) options_.metrics->stale_served.Inc();
      spdlog::debug("key cache: keyservice unavailable ({}); serving a stale entry",
                    fetched.error().message);
      return std::move(stale->value);
    }
  }
  return fetched;
}

Result<std::optional<SigningIdentity>> CachingKeyService::GetSigningIdentity(
    const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string key, NormalizeAddress(address));
  using T = std::optional<SigningIdentity>;
  Access<T> a;
  a.find = [&]() -> std::optional<Entry<T>>* {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.signing;
  };
  a.slot = [&]() -> std::optional<Entry<T>>& { return entries_[key].signing; };
  a.fetch = [&] { return upstream_.GetSigningIdentity(key); };
  return Lookup(a);  // private key: memory only, no load/save
}

Result<std::optional<DkimSigningKey>> CachingKeyService::GetDkimKey(const std::string& domain) {
  SG_ASSIGN_OR_RETURN(std::string name, mail::NormalizeDomain(domain));
  const std::string key = "@" + name;
  using T = std::optional<DkimSigningKey>;
  Access<T> a;
  a.find = [&]() -> std::optional<Entry<T>>* {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.dkim;
  };
  a.slot = [&]() -> std::optional<Entry<T>>& { return entries_[key].dkim; };
  a.fetch = [&] { return upstream_.GetDkimKey(name); };
  return Lookup(a);  // private key: memory only, no load/save
}

Result<std::optional<EncryptionCertificate>> CachingKeyService::GetEncryptionCertificate(
    const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string key, NormalizeAddress(address));
  using T = std::optional<EncryptionCertificate>;
  Access<T> a;
  a.find = [&]() -> std::optional<Entry<T>>* {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.encryption;
  };
  a.slot = [&]() -> std::optional<Entry<T>>& { return entries_[key].encryption; };
  a.fetch = [&] { return upstream_.GetEncryptionCertificate(key); };
  a.load = [&] { return store_->GetEncryption(key); };
  a.save = [&](const Persisted<T>& p) { return store_->PutEncryption(key, p); };
  return Lookup(a);
}

Result<std::vector<DecryptionKey>> CachingKeyService::GetDecryptionKeys(const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string key, NormalizeAddress(address));
  using T = std::vector<DecryptionKey>;
  Access<T> a;
  a.find = [&]() -> std::optional<Entry<T>>* {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.decryption;
  };
  a.slot = [&]() -> std::optional<Entry<T>>& { return entries_[key].decryption; };
  a.fetch = [&] { return upstream_.GetDecryptionKeys(key); };
  return Lookup(a);  // private keys: memory only, no load/save
}

Result<bool> CachingKeyService::Participates(const std::string& address) {
  SG_ASSIGN_OR_RETURN(std::string key, NormalizeAddress(address));
  Access<bool> a;
  a.find = [&]() -> std::optional<Entry<bool>>* {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.participates;
  };
  a.slot = [&]() -> std::optional<Entry<bool>>& { return entries_[key].participates; };
  a.fetch = [&] { return upstream_.Participates(key); };
  a.load = [&] { return store_->GetParticipation(key); };
  a.save = [&](const Persisted<bool>& p) { return store_->PutParticipation(key, p); };
  return Lookup(a);
}

Result<HarvestResult> CachingKeyService::HarvestCertificate(const HarvestRequest& request) {
  // Keyed like the keyservice's change events (its normalised address); an
  // event for the address or a reset drops what we remembered. An address it
  // would not accept goes to it unremembered, for its specific error.
  auto normalized = NormalizeAddress(request.address);
  if (!normalized.ok()) return upstream_.HarvestCertificate(request);
  const std::string& address = *normalized;
  const std::string fingerprint = Fingerprint(request.certificate_der);
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(address);
    if (synced_ && it != entries_.end()) {
      auto known = it->second.harvested.find(fingerprint);
      if (known != it->second.harvested.end() && known->second > Now()) {
        if (options_.metrics) options_.metrics->hits_memory.Inc();
        HarvestResult unchanged;
        unchanged.outcome = HarvestOutcome::kUnchanged;
        unchanged.fingerprint = fingerprint;
        return unchanged;
      }
    }
    generation = generation_;
  }
  SG_ASSIGN_OR_RETURN(HarvestResult result, upstream_.HarvestCertificate(request));
  if (result.outcome == HarvestOutcome::kStored || result.outcome == HarvestOutcome::kUnchanged) {
    std::lock_guard<std::mutex> lock(mu_);
    if (synced_ && generation == generation_) {
      entries_[address].harvested[fingerprint] = Now() + options_.ttl;
    }
  }
  return result;
}

Result<TrustAnchors> CachingKeyService::GetTrustAnchors() {
  Access<TrustAnchors> a;
  a.find = [&]() -> std::optional<Entry<TrustAnchors>>* { return &anchors_; };
  a.slot = [&]() -> std::optional<Entry<TrustAnchors>>& { return anchors_; };
  a.fetch = [&] { return upstream_.GetTrustAnchors(); };
  a.load = [&] { return store_->GetAnchors(); };
  a.save = [&](const Persisted<TrustAnchors>& p) { return store_->PutAnchors(p); };
  return Lookup(a);
}

Result<Changes> CachingKeyService::WaitForChanges(uint64_t epoch, uint64_t after_version,
                                                  std::chrono::milliseconds wait) {
  return upstream_.WaitForChanges(epoch, after_version, wait);
}

void CachingKeyService::UpdateEntryGauges() {
  if (!options_.metrics) return;
  options_.metrics->entries_memory.Set(static_cast<double>(entries_.size() + (anchors_ ? 1 : 0)));
}

bool CachingKeyService::StaleServable(Time expires, Time now) const {
  return options_.max_stale.count() > 0 && now < expires + options_.max_stale;
}

void CachingKeyService::LoseContact(bool keyservice_down) {
  std::lock_guard<std::mutex> lock(mu_);
  contact_lost_ = keyservice_down;
  if (synced_) {
    synced_ = false;
    ++contact_;
  }
  // Private keys cannot be served stale: do not keep them around either.
  for (auto it = entries_.begin(); it != entries_.end();) {
    it->second.signing.reset();
    it->second.decryption.reset();
    it->second.harvested.clear();  // not known to be current any more
    if (!it->second.encryption && !it->second.participates) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  UpdateEntryGauges();
}

void CachingKeyService::Watch() {
  CachePosition position = store_ ? store_->position() : CachePosition{};
  bool in_step = false;  // our own view of synced_, without the lock
  while (!stop_) {
    auto changes = upstream_.WaitForChanges(position.epoch, position.version,
                                            in_step ? options_.poll_wait
                                                    : std::chrono::milliseconds(0));
    if (!changes.ok()) {
      // Keyservice unreachable: nothing cached is known to be current any
      // more. Keep the position: when it comes back, the events we missed
      // (or a reset, if it restarted) bring us in step again.
      if (in_step) {
        spdlog::warn("key cache: lost the keyservice's change events ({}); serving only what it "
                     "confirms, and stale public entries while it is unavailable",
                     changes.error().message);
      }
      LoseContact(IsDependencyError(changes.error().code));
      in_step = false;
      std::unique_lock<std::mutex> lock(sync_mu_);
      sync_cv_.wait_for(lock, options_.retry_after_error, [&] { return stop_.load(); });
      continue;
    }
    CachePosition next{changes->epoch, changes->version};
    {
      std::lock_guard<std::mutex> lock(mu_);
      bool drop_all = changes->reset;
      std::vector<std::string> addresses;
      if (!drop_all) {
        for (const auto& e : changes->events) {
          if (e.kind == "pending") continue;  // nothing cached depends on pending certificates
          if (e.kind == "trust" || e.kind == "domain" || e.subject.empty() || e.subject[0] == '@') {
            drop_all = true;  // domain certificates and keys concern every address of a domain
            break;
          }
          addresses.push_back(e.subject);
        }
      }
      if (drop_all) {
        entries_.clear();
        anchors_.reset();
        ++generation_;
        if (changes->reset && position.epoch != 0) {
          spdlog::info("key cache: the keyservice reset its change log; cache dropped");
          if (options_.metrics) options_.metrics->resets.Inc();
        }
      } else if (!addresses.empty()) {
        ++generation_;
        for (const auto& a : addresses) entries_.erase(a);
      }
      if (store_ && !store_failed_ && (drop_all || !addresses.empty() || !(next == position))) {
        Status s = store_->ApplyChanges(addresses, drop_all, next);
        if (!s.ok()) {
          store_failed_ = true;  // it may now hold entries that were invalidated
          spdlog::error("{} (the worker key cache continues in memory only)", s.error().message);
        }
      }
      synced_ = true;
      contact_lost_ = false;
      UpdateEntryGauges();
      if (options_.metrics && store_) {
        options_.metrics->entries_disk.Set(static_cast<double>(store_->EstimateEntries()));
      }
    }
    if (!in_step && position.epoch != 0 && !changes->reset) {
      spdlog::info("key cache: in step with the keyservice change log ({} missed events applied)",
                   changes->events.size());
    }
    in_step = true;
    position = next;
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
