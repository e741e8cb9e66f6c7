// Egress: consumes MessageRecords from the deliver topic and delivers every
// recipient - inbound mail to the organisation's server, outbound mail to
// the recipient's MX or a smarthost, or to a Maildir (egress_route.h).
//
// Per recipient outcome (invariant 3: every recipient ends in exactly one):
//   2xx                -> delivered; (message id, form id, recipient) is
//                         written to the dedupe store before the commit
//   4xx / no host      -> a copy of the record with the deferred recipients
//                         is produced to the retry topic, due at
//                         DeliveryState.next_attempt_at_ms (exponential
//                         backoff, egress.retry)
//   5xx / retry expiry -> a DSN to the envelope sender, produced to the
//                         deliver topic; recipients that cannot be bounced
//                         (null sender, NOTIFY without FAILURE) go to the
//                         deadletter topic with a `reason` header
// An offset is committed only when everything it led to is durable (dedupe
// record synced, retry/DSN/deadletter records acknowledged by the queue).
// A crash before that delivers the record again; the dedupe store makes
// the already delivered recipients no-ops.
//
// Retries: a second consumer (group "<group>-retry") reads the retry topic
// and keeps not-yet-due records in memory, ordered by due time; the loop's
// timer starts each when due. Held records are not committed, so a restart
// loses none. When too many are held, the retry partitions are Paused until
// some are due (back-pressure), then Resumed; the consumer keeps polling
// meanwhile, so it stays in its group.
//
// Several egress processes (pods) share the two groups. When a rebalance
// moves a partition to another egress, this one drops the retries it holds
// of it (the new owner reads them again from the last commit) and commits
// nothing more there; records read again while still in hand (a partition
// that stayed is restarted at its last commit) are skipped by offset. So a
// waiting message is held by one egress at a time, and attempted by one.
//
// Rebalancing: before a partition goes (Consumer::SetDrainOnRevoke), the
// loop waits, without blocking, for the records of it being delivered -
// up to egress.rebalance_drain_timeout, the group's rebalance waiting
// meanwhile - then syncs the dedupe store, commits everything done and
// lets the partition go: its new owner starts after the records this
// egress finished. No retry is started while retry partitions are being
// handed over. What remains at least once: a record still being delivered
// after the bound (counted, smimegate_egress_rebalance_undrained_total),
// a commit the broker refuses when the partition goes to another egress,
// and a finished retry behind one still waiting on its partition (a commit
// covers only a prefix). A refused commit is retried after a back-off, and
// a partition that comes back restarts at its last commit without a second
// attempt of what this egress finished (OffsetTracker::IsFinished).
//
// Polling: the loop polls the deliver and retry topics every
// egress.poll_interval, and the deliver topic also the moment the queue says
// records are readable there (egress.wake_on_data; the ReadyNotifier of both
// queues, common/queue_ready.h), so a message does not wait for the next
// tick. smimegate_stage_latency_seconds{hop=deliver_wait|delivery}
// (common/stage_latency.h) measures both hops of egress.
//
// Body references (common/queue_body_ref.h): a deliver record that refers
// to its body gets it from the queue on egress.body_fetch_threads threads
// (egress_body_fetcher.h), never on the loop, so a slow broker holds up that
// message only. Its offset is open meanwhile (no commit passes it); an
// unreachable queue means fetching again a second later, an unresolvable
// reference a dead letter.
//
// Threading: one thread runs a libuv loop with the SMTP client, DNS,
// consumers and producer callbacks (posted back to the loop); body fetches
// run on the fetcher's threads and post their answers. Start/Stop from the
// main thread; Ready from any.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/mail_queue.h"
#include "common/metrics.h"
#include "common/queue.h"
#include "common/service.h"
#include "common/clock.h"
#include "egress/egress_config.h"
#include "egress/egress_dns.h"
#include "egress/egress_route.h"

namespace sg::egress {

struct EgressDeps {
  // Defaults to the system clock.
  const Clock* clock = nullptr;
  // Builds the resolver on the egress loop; defaults to c-ares with config.dns.
  std::function<Result<std::unique_ptr<Resolver>>(uv_loop_t*)> resolver_factory;
};

class EgressService final : public Service {
 public:
  // `queue` and `registry` outlive the service. `topic_prefix` is
  // queue.topic_prefix (prepended to deliver, retry and deadletter).
  EgressService(EgressConfig config, queue::Queue& queue, metrics::Registry& registry,
                std::string topic_prefix = "", EgressDeps deps = {});
  ~EgressService() override;

  std::string Name() const override { return "egress"; }
  // Opens the dedupe store, creates Maildirs, joins the consumer groups and
  // starts the loop thread. The topics must exist.
  Status Start() override;
  // Stops polling at once (the loop is woken; it no longer waits for its
  // next poll_interval).
  void RequestStop() override;
  // Stops polling, lets in-flight deliveries finish (up to
  // egress.shutdown_timeout), commits what is done, QUITs sessions.
  void Stop() override;
  bool Ready() const override { return ready_.load(); }

  // The queue as `smimegatectl queue` manages it (common/mail_queue.h): its
  // calls run on the egress loop and wait for it (kUnavailable when the
  // loop is not running). Lives as long as this service.
  mailqueue::Admin& queue_admin() { return *queue_admin_; }
  // The keyservice registry's per-tenant inbound routes now (egress_route.h);
  // any thread, takes effect for the next message. Returns the routes in use.
  size_t ReplaceTenantRoutes(const TenantRoutes& routes);

 private:
  class Impl;
  friend class EgressQueueAdmin;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<mailqueue::Admin> queue_admin_;
  std::atomic<bool> ready_{false};
};

}  // namespace sg::egress
