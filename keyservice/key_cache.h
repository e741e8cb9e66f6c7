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
// HarvestCertificate and WaitForChanges pass through.
//
// Not done yet: persisting the cache in a local RocksDB (the issue's
// "local RocksDB certificate cache"); this cache is in memory, so a worker
// restart starts cold.
//
// Threading: thread-safe. The upstream KeyService is borrowed and must
// outlive the cache; the destructor stops the watcher (it waits for at most
// one long poll to return: keep `poll_wait` short).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "keyservice/key_service.h"

namespace sg::keyservice {

struct KeyCacheOptions {
  std::chrono::milliseconds ttl{std::chrono::minutes(5)};
  std::chrono::milliseconds poll_wait{std::chrono::seconds(2)};
  std::chrono::milliseconds retry_after_error{std::chrono::seconds(1)};
};

class CachingKeyService : public KeyService {
 public:
  CachingKeyService(KeyService& upstream, KeyCacheOptions options = {});
  ~CachingKeyService() override;

  Result<std::optional<SigningIdentity>> GetSigningIdentity(const std::string& address) override;
  Result<std::optional<EncryptionCertificate>> GetEncryptionCertificate(
      const std::string& address) override;
  Result<std::vector<DecryptionKey>> GetDecryptionKeys(const std::string& address) override;
  Result<bool> Participates(const std::string& address) override;
  Result<HarvestResult> HarvestCertificate(const HarvestRequest& request) override;
  Result<TrustAnchors> GetTrustAnchors() override;
  Result<Changes> WaitForChanges(uint64_t epoch, uint64_t after_version,
                                 std::chrono::milliseconds wait) override;

  // For tests and metrics.
  uint64_t hits() const { return hits_.load(); }
  uint64_t misses() const { return misses_.load(); }
  // Blocks until the watcher has applied every change up to now (tests).
  void WaitUntilSynced(std::chrono::milliseconds timeout);

 private:
  using Time = std::chrono::steady_clock::time_point;
  template <typename T>
  struct Entry {
    T value;
    Time expires;
  };
  struct PerAddress {
    std::optional<Entry<std::optional<SigningIdentity>>> signing;
    std::optional<Entry<std::optional<EncryptionCertificate>>> encryption;
    std::optional<Entry<std::vector<DecryptionKey>>> decryption;
    std::optional<Entry<bool>> participates;
  };

  template <typename T, typename Slot, typename Fetch>
  Result<T> Cached(const std::string& address, Slot slot, Fetch fetch);
  void Watch();
  void DropAll();

  KeyService& upstream_;
  KeyCacheOptions options_;
  std::mutex mu_;
  std::map<std::string, PerAddress> entries_;
  std::optional<Entry<TrustAnchors>> anchors_;
  uint64_t generation_ = 0;  // bumped by every invalidation; stale fetches are not stored
  std::atomic<uint64_t> hits_{0}, misses_{0};

  std::atomic<bool> stop_{false};
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t synced_rounds_ = 0;
  std::thread watcher_;
};

}  // namespace sg::keyservice
