// CertificateDiscovery: finds a certificate for a recipient the keyservice
// knows none for (issue 22), without blocking the caller.
//
// Lookup() answers from a cache at once: kFound (with the certificate),
// kNone, or kPending. kPending starts a lookup on a bounded pool of
// discovery threads (`threads`, at most `queue_limit` waiting); the caller -
// the outbound policy - sets its message aside until `retry_at_ms` and asks
// again. A lookup that has not finished `max_wait` after it started answers
// kNone ("deadline"): the message goes on as having no certificate, never
// stuck. A full queue answers kNone ("overloaded").
//
// A lookup asks each source that covers the address in the configured
// order (workers.discovery.order; SMIMEA, then the LDAP directories in
// their list order, by default) until one finds a certificate that is
// accepted, and offers every
// candidate to KeyService::HarvestCertificate: the check a certificate
// harvested from a signed message passes (address, validity, purpose, a
// chain to a trusted root), and on success it is stored like one, so every
// worker and later message finds it through the keyservice. Only kStored /
// kUnchanged count as found; pending (an untrusted CA) and rejected
// certificates are ignored.
//
// Cache: found for `found_ttl`, nothing found for `not_found_ttl`, a source
// error or timeout for `error_ttl`; at most `cache_entries` (expired ones
// are dropped first, then all finished ones). Memory only: a restarted
// worker looks again.
//
// Threading: Lookup is thread-safe; the pool (common/thread_pool.h, threads
// named sg-discovery) is stopped by the destructor: each thread finishes its
// current lookup, bounded by the sources' timeouts; queued ones are dropped
// (their entries stay pending, and the discovery goes with them).
// KeyService, metrics and clock are borrowed and must outlive the discovery.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/thread_pool.h"
#include "keyservice/key_service.h"
#include "workers/discovery/discovery_metrics.h"
#include "workers/discovery/discovery_source.h"

namespace sg::workers {

struct DiscoveryOptions {
  std::chrono::milliseconds max_wait{std::chrono::seconds(15)};
  std::chrono::milliseconds retry{std::chrono::seconds(1)};
  std::chrono::milliseconds found_ttl{std::chrono::hours(1)};
  std::chrono::milliseconds not_found_ttl{std::chrono::hours(1)};
  std::chrono::milliseconds error_ttl{std::chrono::minutes(5)};
  int threads = 2;
  size_t queue_limit = 1000;
  size_t cache_entries = 100000;
};

struct DiscoveryStatus {
  enum class State { kFound, kNone, kPending };
  State state = State::kNone;
  std::string certificate_der;  // kFound
  int64_t retry_at_ms = 0;      // kPending: when to ask again (unix ms)
};

class CertificateDiscovery {
 public:
  CertificateDiscovery(DiscoveryOptions options,
                       std::vector<std::unique_ptr<CertificateSource>> sources,
                       keyservice::KeyService& keys, DiscoveryMetrics& metrics,
                       const Clock& clock = SystemClock::Instance());
  ~CertificateDiscovery();
  CertificateDiscovery(const CertificateDiscovery&) = delete;
  CertificateDiscovery& operator=(const CertificateDiscovery&) = delete;

  // `address` normalised (common/mail/address.h): the recipient's identity,
  // the cache key and what the harvest check matches. `as_written`: the
  // address as the sender wrote it (RCPT TO), whose local-part the sources
  // look up (empty: `address`). Never blocks on I/O. kNone at once
  // (uncounted) when no source covers the address.
  DiscoveryStatus Lookup(const std::string& address, const std::string& as_written = "");

 private:
  struct Entry {
    DiscoveryStatus::State state = DiscoveryStatus::State::kPending;
    std::string der;
    int64_t started_ms = 0;  // kPending
    int64_t expires_ms = 0;  // finished
  };
  struct Job {
    std::string address;  // normalised
    std::string query;    // the local-part as written @ the normalised domain
  };
  // On a pool thread: Discover, then leave the entry.
  void Finish(const Job& job);
  // One lookup through every source; the entry it leaves.
  Entry Discover(const Job& job);
  // Offers the candidates to the harvest check; true when one is accepted.
  bool Accept(const std::string& address, const SourceAnswer& answer, std::string* der);
  void TrimLocked(int64_t now_ms);

  const DiscoveryOptions options_;
  std::vector<std::unique_ptr<CertificateSource>> sources_;
  keyservice::KeyService& keys_;
  DiscoveryMetrics& metrics_;
  const Clock& clock_;

  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
  // Last: stopped first, while what its lookups use is still there.
  // At most options_.queue_limit lookups wait ("overloaded" beyond).
  ThreadPool pool_;
};

}  // namespace sg::workers
