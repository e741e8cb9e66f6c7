// CachingKeyService: the worker-side cache in front of a KeyService (the
// gRPC client in the distributed mode; optional in process).
//
// Caches, per address, signing identities, encryption certificates (also
// "none"), decryption keys and participation, and the trust anchors. A
// watcher thread follows the keyservice's change events (WaitForChanges
// long poll) and drops what changed: the entries of an address for an
// address event; everything for domain-wide events ("@domain" subjects,
// trust, domain) and on `reset` (keyservice restarted or we fell behind).
// Every entry also expires after `ttl` as a safety net (e.g. a certificate
// that expires without any event).
//
// Two tiers. Memory holds everything. A KeyCacheStore (RocksDB in the
// worker's own directory, keyservice/key_cache_store.h) additionally holds
// the PUBLIC entries — encryption certificates (also "none"), participation
// and trust anchors — together with the change-log position (epoch,
// version) they are current to, so a restarted worker starts warm: its
// watcher resumes WaitForChanges from that position and applies the events
// it missed (or drops everything on `reset`) before persisted entries are
// trusted. PRIVATE KEYS ARE NEVER PERSISTED: signing identities and
// decryption keys live in memory only (a worker has no key-encryption key,
// and private keys are never stored unencrypted).
//
// Contact with the keyservice: while the watcher cannot reach it, nothing
// cached before the loss is served as current (in-memory private keys are
// dropped); lookups go upstream. When upstream then fails with kUnavailable
// or kTimeout, a public entry that expired less than `max_stale` ago (or
// whose freshness is unknown) is served anyway ("stale on error", counted),
// so workers keep encrypting to known partners while the keyservice
// restarts. Once the watcher itself has found the keyservice down, such an
// entry is served without asking (no RPC deadline to wait out per message).
// Private-key lookups never serve stale: their errors propagate.
//
// A lookup that races an invalidation (an event arrives while it asks
// upstream) returns what it read but stores it in neither tier (a
// generation counter, checked under the lock that also orders the RocksDB
// writes).
//
// HarvestCertificate and WaitForChanges pass through.
//
// Threading: thread-safe. The upstream KeyService (and the clock and
// metrics, when given) are borrowed and must outlive the cache; the
// destructor stops the watcher (it waits for at most one long poll to
// return: keep `poll_wait` short).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/metrics.h"
#include "keyservice/key_cache_config.h"
#include "keyservice/key_cache_metrics.h"
#include "keyservice/key_cache_store.h"
#include "keyservice/key_service.h"
#include "common/clock.h"

namespace sg::keyservice {

struct KeyCacheOptions {
  std::chrono::milliseconds ttl{std::chrono::minutes(5)};
  std::chrono::milliseconds poll_wait{std::chrono::seconds(2)};
  std::chrono::milliseconds retry_after_error{std::chrono::seconds(1)};
  // How long after expiry a public entry may still be served when the
  // keyservice is unavailable; 0: never.
  std::chrono::milliseconds max_stale{std::chrono::hours(1)};
  const Clock* clock = nullptr;       // expiry (wall clock: it is persisted); null: system clock
  KeyCacheMetrics* metrics = nullptr;  // optional
};

class CachingKeyService : public KeyService {
 public:
  // Memory only (store == nullptr) or over an opened KeyCacheStore.
  explicit CachingKeyService(KeyService& upstream, KeyCacheOptions options = {},
                             std::unique_ptr<KeyCacheStore> store = nullptr);
  ~CachingKeyService() override;

  // The worker's cache from its `workers.key_cache` config: opens the store
  // at config.path when config.persist. Errors: kUnavailable when another
  // process holds that directory. Any other store problem (corrupt,
  // unreadable) is logged and the cache starts cold, or memory-only when
  // the directory is unusable: it is a cache, never a reason not to start.
  // `registry` may be null (no metrics).
  static Result<std::unique_ptr<CachingKeyService>> Open(KeyService& upstream,
                                                         const KeyCacheConfig& config,
                                                         metrics::Registry* registry);

  Result<std::optional<SigningIdentity>> GetSigningIdentity(const std::string& address) override;
  Result<std::optional<EncryptionCertificate>> GetEncryptionCertificate(
      const std::string& address) override;
  Result<std::vector<DecryptionKey>> GetDecryptionKeys(const std::string& address) override;
  Result<bool> Participates(const std::string& address) override;
  Result<HarvestResult> HarvestCertificate(const HarvestRequest& request) override;
  Result<TrustAnchors> GetTrustAnchors() override;
  // A private key: memory only, under "@domain" (a "dkim" event for
  // "@domain" drops it, like every domain-wide event).
  Result<std::optional<DkimSigningKey>> GetDkimKey(const std::string& domain) override;
  Result<Changes> WaitForChanges(uint64_t epoch, uint64_t after_version,
                                 std::chrono::milliseconds wait) override;
  // Passes through (ingress follows the domains itself).
  Result<std::vector<HostedDomain>> TenantDomains() override { return upstream_.TenantDomains(); }
  Result<TenantRoutingTable> TenantRouting() override { return upstream_.TenantRouting(); }

  // For tests and metrics.
  uint64_t hits() const { return hits_.load(); }  // both tiers
  uint64_t disk_hits() const { return disk_hits_.load(); }
  uint64_t misses() const { return misses_.load(); }
  uint64_t stale_served() const { return stale_served_.load(); }
  bool persistent() const { return store_ != nullptr; }
  // Blocks until the watcher has applied every change up to now (tests).
  void WaitUntilSynced(std::chrono::milliseconds timeout);

 private:
  using Time = std::chrono::system_clock::time_point;
  template <typename T>
  struct Entry {
    T value;
    Time expires;
    uint64_t contact = 0;  // contact_ when fetched; 0 = loaded from the store
  };
  struct PerAddress {
    std::optional<Entry<std::optional<SigningIdentity>>> signing;
    std::optional<Entry<std::optional<EncryptionCertificate>>> encryption;
    std::optional<Entry<std::vector<DecryptionKey>>> decryption;
    std::optional<Entry<bool>> participates;
    std::optional<Entry<std::optional<DkimSigningKey>>> dkim;  // "@domain" entries only
    // Fingerprints the keyservice already holds for this address (harvest
    // answered stored or unchanged), until when: a partner's every signed
    // message carries the same certificate, and asking again each time
    // costs a keyservice call (gRPC in the distributed mode). Memory only.
    std::map<std::string, Time> harvested;
  };
  // How one kind of entry is found, fetched and (for public ones) persisted.
  template <typename T>
  struct Access {
    std::function<std::optional<Entry<T>>*()> find;  // under mu_; null when absent
    std::function<std::optional<Entry<T>>&()> slot;  // under mu_; creates
    std::function<Result<T>()> fetch;
    // Public entries only (empty for private keys: never persisted, never stale).
    std::function<std::optional<Persisted<T>>()> load;
    std::function<Status(const Persisted<T>&)> save;
  };

  template <typename T>
  Result<T> Lookup(const Access<T>& access);
  template <typename T>
  bool Fresh(const Entry<T>& e, Time now) const;  // under mu_
  void Watch();
  // The watcher's WaitForChanges failed; `keyservice_down`: with
  // kUnavailable/kTimeout (stale public entries are then served at once).
  void LoseContact(bool keyservice_down);
  bool StaleServable(Time expires, Time now) const;
  void UpdateEntryGauges();  // under mu_
  Time Now() const { return clock_->Now(); }

  KeyService& upstream_;
  KeyCacheOptions options_;
  const Clock* clock_;
  std::unique_ptr<KeyCacheStore> store_;
  std::unique_ptr<KeyCacheMetrics> owned_metrics_;

  std::mutex mu_;  // entries, generation, contact; orders store writes
  std::map<std::string, PerAddress> entries_;
  std::optional<Entry<TrustAnchors>> anchors_;
  uint64_t generation_ = 0;  // bumped by every invalidation; stale fetches are not stored
  // Entries are current while the watcher is in step with the keyservice
  // (synced_); entries fetched since the last loss of contact are current
  // by themselves.
  bool synced_ = false;
  uint64_t contact_ = 1;
  bool contact_lost_ = false;  // the watcher's last round failed: keyservice down
  bool store_failed_ = false;  // a write failed: the store is no longer trusted
  std::atomic<uint64_t> hits_{0}, disk_hits_{0}, misses_{0}, stale_served_{0};

  std::atomic<bool> stop_{false};
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t synced_rounds_ = 0;
  std::thread watcher_;
};

}  // namespace sg::keyservice
