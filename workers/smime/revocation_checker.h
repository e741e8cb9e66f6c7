// OnlineRevocationChecker: the RevocationChecker of the workers (revocation.h),
// asking OCSP responders and CRL distribution points over HTTP.
//
// For every certificate of a validated chain but the anchor, with the next
// one as its issuer:
//   1. its OCSP URL (authorityInfoAccess), when it has one: the answer is
//      kept until its nextUpdate (at most max_cache_time; without one,
//      default_cache_time) in a cache of at most cache_entries answers;
//   2. without an OCSP URL, or when OCSP gave no usable answer, its first
//      http(s) CRL distribution point: the CRL (at most max_crl_size) is
//      kept until its nextUpdate in a cache of at most crl_cache_entries CRLs;
//   3. a certificate with neither is not checked (nothing to ask).
// A URL that gave no usable answer is not asked again for retry_after: its
// certificates get kError at once, so a dead responder costs one timeout
// per retry_after, not one per message.
//
// Latency: each fetch is bounded by `timeout`, all fetches of one Check()
// together by `budget` (then the rest is kError). Answers from the cache
// cost no I/O.
//
// Metrics (revocation_metrics.h): one check per certificate asked, by
// result; cache hits; soft failures.
//
// Threading: Check() from any number of threads; the caches are under one
// mutex, never held during a fetch (two threads may fetch the same answer).
// Ownership: the fetcher, metrics and clock outlive the checker.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "workers/smime/revocation.h"
#include "workers/smime/revocation_config.h"
#include "workers/smime/revocation_http.h"
#include "workers/smime/revocation_metrics.h"
#include "workers/smime/revocation_sources.h"

namespace sg::smime {

class OnlineRevocationChecker final : public RevocationChecker {
 public:
  OnlineRevocationChecker(RevocationConfig config, HttpFetcher& fetcher, RevocationMetrics* metrics,
                          const Clock& clock = SystemClock::Instance());

  RevocationVerdict Check(const std::vector<X509Ptr>& chain, std::string_view domain) override;

 private:
  struct Outcome {
    RevocationState state = RevocationState::kGood;
    std::string detail;
    bool checked = false;  // the certificate had a source to ask
  };
  using Deadline = std::chrono::steady_clock::time_point;

  Outcome CheckOne(X509* cert, X509* issuer, const std::vector<X509*>& chain, X509* anchor,
                   Deadline deadline);
  Outcome ByOcsp(const std::string& url, X509* cert, X509* issuer, const std::vector<X509*>& chain,
                 X509* anchor, Deadline deadline);
  Outcome ByCrl(const std::string& url, X509* cert, X509* issuer, Deadline deadline);
  // The fetch, unless the URL failed recently or the budget is spent.
  Result<std::string> Fetch(HttpRequest request, Deadline deadline);
  void Failed(const std::string& url, std::time_t now);
  std::time_t Expiry(const std::optional<std::time_t>& next_update, std::time_t now) const;
  std::time_t Now() const;

  struct OcspEntry {
    RevocationAnswer answer;
    std::time_t expires = 0;
  };
  struct CrlEntry {
    CrlPtr crl;
    std::time_t expires = 0;
  };
  template <typename Map>
  static void MakeRoom(Map& map, size_t cap, std::time_t now);

  RevocationConfig config_;
  HttpFetcher& fetcher_;
  RevocationMetrics* metrics_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, OcspEntry> ocsp_;     // by CertID DER
  std::map<std::string, CrlEntry> crls_;      // by URL
  std::map<std::string, std::time_t> down_;   // URL -> not before
};

}  // namespace sg::smime
