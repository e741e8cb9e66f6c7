// HostedDomainFollower: keeps ingress's hosted domains and relay-client
// bindings and egress's per-tenant inbound routes equal to the keyservice's
// registry at run time (docs/tenants.md "What follows at run time"). One
// thread: it reads the table (KeyService::TenantRouting: domains, routes,
// bindings), then long-polls the change events (WaitForChanges) and reads
// it again after every "domain", "tenant" or "policy" event or a reset (the
// keyservice restarted). A domain added or removed with `smimegatectl
// domain add|remove`, a route set or a client bound with `smimegatectl
// tenant route|bind` reaches `apply` and every OnTable consumer within one
// round trip (milliseconds in `smimegate run`, one gRPC long poll in
// `smimegate ingress` / `smimegate egress`).
//
// When the keyservice is unreachable, `apply` is not called: ingress keeps
// its last known set (at start-up the config file's hosted_domains), and the
// follower tries again every `retry`. Lives in the composition root so that
// ingress does not include keyservice headers.
//
// Metrics: smimegate_hosted_domains (domains applied last),
// smimegate_hosted_domain_refresh_total{result="ok|failed"}.
//
// Threading: Start/Stop from the main thread; `apply` runs on the
// follower's thread. The key service, the registry and `apply`'s target
// outlive the follower (Stop before destroying them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "keyservice/key_service.h"

namespace sg::app {

class HostedDomainFollower {
 public:
  // domain (lower case) -> the id of the tenant owning it
  using Domains = std::map<std::string, std::string>;
  using Apply = std::function<void(Domains domains)>;
  using ApplyTable = std::function<void(const keyservice::TenantRoutingTable& table)>;
  struct Options {
    std::chrono::milliseconds poll_wait{std::chrono::seconds(1)};  // one long poll
    std::chrono::milliseconds retry{std::chrono::seconds(1)};      // after a failure
  };

  HostedDomainFollower(keyservice::KeyService& keys, Apply apply, metrics::Registry& registry,
                       Options options);
  ~HostedDomainFollower();
  HostedDomainFollower(const HostedDomainFollower&) = delete;
  HostedDomainFollower& operator=(const HostedDomainFollower&) = delete;

  // Another consumer of every table read (egress's routes, ingress's
  // bindings); called on the follower's thread after `apply`. Before Start.
  void OnTable(ApplyTable consumer) { consumers_.push_back(std::move(consumer)); }

  void Start();
  // Returns within one poll_wait (the in-process change log wakes at once on
  // keyservice shutdown; a gRPC client's Shutdown cancels the poll).
  void Stop();

  // One read of the registry and `apply` (the thread's step; tests).
  Status Refresh();

 private:
  void Run();
  bool WaitRetry();  // false when stopping

  keyservice::KeyService& keys_;
  Apply apply_;
  std::vector<ApplyTable> consumers_;
  Options options_;
  metrics::Gauge& domains_;
  metrics::Family<metrics::Counter>& refreshes_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sg::app
