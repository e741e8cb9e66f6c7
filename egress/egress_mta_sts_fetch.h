// Fetching an MTA-STS policy file (RFC 8461 3.3): GET
// https://mta-sts.<domain>/.well-known/mta-sts.txt, HTTPS only, the
// certificate verified (egress.mta_sts.ca_file or the system store), no
// redirects, at most 64 KB, within egress.mta_sts.fetch_timeout; only a
// 200 answer is a policy.
//
// HttpsStsFetcher resolves mta-sts.<domain> through the egress resolver
// (egress.dns.servers, on the loop), then runs the blocking libcurl request
// (common/http/http_transfer.h) on its own worker thread (a one-thread
// common/thread_pool.h pool, sg-mta-sts), so the egress loop never waits
// for it; the answer comes back on the loop (uv_async).
//
// Threading: Fetch and the callbacks on the loop thread; one worker thread
// per fetcher, requests one at a time.
// Errors: kUnavailable/kTimeout/kResourceExhausted from the transfer (a
// certificate that does not verify has http::kPeerVerificationFailed in its
// message), kNotFound for an answer other than 200, kCancelled after
// Shutdown.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/thread_pool.h"
#include "egress/egress_config.h"
#include "egress/egress_destination.h"
#include "egress/egress_dns.h"

namespace sg::egress {

inline constexpr uint64_t kStsPolicyMaxBytes = 64 << 10;  // RFC 8461 3.3 suggests 64 KB

class StsFetcher {
 public:
  using Done = std::function<void(Result<std::string>)>;
  virtual ~StsFetcher() = default;
  // The policy file of `domain` (lower case); `done` runs on the loop thread.
  virtual void Fetch(const std::string& domain, Done done) = 0;
};

// The policy host's address is checked like an MX host's
// (egress_destination.h): an address that the destination policy refuses
// for `route` (loopback, private, the gateway itself, ... outside the
// route's allowed_networks) is never fetched from, so a hostile domain
// cannot point egress's HTTPS request at an internal service; with no
// address left the fetch fails with kPermissionDenied naming the refusal.
class HttpsStsFetcher final : public StsFetcher {
 public:
  // `resolver`, `config`, `destinations` and `route` (the outbound route
  // whose allowed_networks apply) outlive the fetcher.
  HttpsStsFetcher(uv_loop_t* loop, Resolver& resolver, const MtaStsConfig& config,
                  const DestinationPolicy& destinations, const RouteConfig& route);
  ~HttpsStsFetcher() override;
  HttpsStsFetcher(const HttpsStsFetcher&) = delete;
  HttpsStsFetcher& operator=(const HttpsStsFetcher&) = delete;

  void Fetch(const std::string& domain, Done done) override;
  // Waits for the request in progress (at most fetch_timeout), fails the
  // queued ones with kCancelled, closes the libuv handle. Before the loop ends.
  void Shutdown();

 private:
  struct Job;
  void Work(const std::shared_ptr<Job>& job);  // on the worker thread
  void Deliver();  // on the loop: the finished jobs' callbacks

  uv_loop_t* loop_;
  Resolver& resolver_;
  const MtaStsConfig& config_;
  const DestinationPolicy& destinations_;
  const RouteConfig& route_;
  uv_async_t* async_ = nullptr;
  std::mutex mu_;
  std::vector<std::shared_ptr<Job>> done_;  // guarded by mu_
  // Last, so it stops before what its jobs use goes. Unbounded: at most one
  // fetch per domain waits here (MtaSts, egress_mta_sts.h).
  ThreadPool worker_{{"sg-mta-sts", 1, ThreadPool::kUnbounded}};
};

}  // namespace sg::egress
