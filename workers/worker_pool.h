// WorkerPool: the consumer loop of the worker stage.
//
// N threads, each a member of one consumer group reading the inbound and
// outbound topics. For each batch: decode, hand every record to the
// MessageProcessor, publish its outputs to the deliver topic, wait for the
// durable acks, and only then commit (at least once, invariant 2).
//
// Origin (review R4): the portal writes readers' replies to the
// portal-reply topic (the only topic its Kafka principal may write besides
// deliver); the workers treat every record there as ORIGIN_PORTAL whatever
// its field says, so the portal-reply checks always apply, and dead-letter a
// record that claims ORIGIN_PORTAL on inbound or outbound.
//
// Failures never block a partition:
//   - a record that cannot be decoded, or a permanent processing error, goes
//     to the dead-letter topic with the reason in header "sg-reason", and
//     its sender gets one DSN (workers/worker_deadletter.h);
//   - a transient processing error re-queues the record at the tail of its
//     topic with header "sg-attempt" incremented; after max_attempts it is
//     dead-lettered (and the sender told) the same way;
//   - when the queue refuses a publish, nothing of the batch is committed and
//     the batch is read again after a short pause;
//   - a record the processor sets aside (output with set_aside_until_ms: the
//     sender's certificate waits for the CA, workers.ca_wait) is put back at
//     the tail of its topic with header "sg-not-before" (unix ms). Read again
//     before that time it is moved behind the records that came after it, or,
//     when it is the last one read of its partition, the partition is paused
//     for at most a second and read again from it: it never holds up the
//     records behind it for longer than that, and never spins.
//
// Threading: Start/Stop from the main thread; the processor is called from
// the pool's threads concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/queue.h"
#include "common/queue_config.h"
#include "common/queue_references.h"
#include "common/service.h"
#include "common/stage_latency.h"
#include "workers/message_processor.h"
#include "workers/tenant_counters.h"
#include "workers/worker_config.h"
#include "workers/worker_metrics.h"

namespace sg::workers {

// Who the DSNs of dead-lettered records come from (workers.policy.dsn).
struct WorkerDsn {
  std::string reporting_mta = "localhost";
  std::string postmaster = "postmaster@localhost";
};

class WorkerPool : public Service {
 public:
  // `clock` decides when a set-aside record is due (tests: a fake clock).
  WorkerPool(WorkerConfig config, const queue::QueueConfig& queue_config, queue::Queue& queue,
             MessageProcessor& processor, metrics::Registry& registry, WorkerDsn dsn = {},
             const Clock& clock = SystemClock::Instance());
  ~WorkerPool() override;

  std::string Name() const override { return "workers"; }
  Status Start() override;
  // Stops polling: each thread finishes (or hands back) its batch.
  void RequestStop() override;
  void Stop() override;
  bool Ready() const override { return running_.load(); }
  // Message counters per tenant (tenant_counters.h; not owned, outlives the
  // pool). Before Start.
  void SetTenantCounters(TenantCounters* counters) { counters_ = counters; }

 private:
  struct Member {
    std::unique_ptr<queue::Consumer> consumer;
    std::unique_ptr<queue::Producer> producer;
    std::thread thread;
    // Partitions paused at a set-aside record that is not due, until when.
    std::map<std::pair<std::string, int32_t>, std::chrono::steady_clock::time_point> paused;
  };
  // Resumes the paused partitions whose time has come.
  void ResumeDue(Member& m);
  // Rewinds each partition of `park` to its offset (a set-aside record not
  // yet due) and pauses it until then, for at most a second.
  void ParkPartitions(Member& m, const std::map<std::pair<std::string, int32_t>, int64_t>& park,
                      const std::vector<queue::Record>& batch);
  void Run(Member& m);
  // Publishes the lag of the partitions this process owns every
  // config_.lag_interval until Stop (lag thread).
  void ReportLag();
  // One refresh: every member's OwnedLag, and the series of partitions no
  // member owns any more removed (lag thread, or the main thread after it
  // ended).
  void PublishOwnedLag();
  // Processes a batch in order and commits what is finished; returns how
  // many records are finished (fewer than all when a dependency is down or
  // the queue refused a publish: the rest must be read again).
  size_t ProcessBatch(Member& m, std::vector<queue::Record>& batch);
  // Binds a record's origin to its topic (review R4): everything on
  // portal-reply is ORIGIN_PORTAL; ORIGIN_PORTAL anywhere else is refused
  // (the reason; empty when the record may be processed).
  std::string BindOrigin(const queue::Record& rec, smimegate::v1::MessageRecord& msg) const;

  WorkerConfig config_;
  WorkerDsn dsn_;
  const Clock& clock_;
  std::string inbound_topic_, outbound_topic_, deliver_topic_, portal_topic_, deadletter_topic_,
      portal_reply_topic_;
  queue::Queue& queue_;
  // Whether an output of a record of `topic` with a body of `size` bytes
  // may refer to it, and how. The queue's terms are asked until they are no
  // longer pending (Kafka's, until the topic's retention is known), then
  // kept: logged once per topic and shown in the body_sharing gauge.
  queue::ReferenceMode SharingFor(const std::string& topic, size_t size);

  // workers.share_bodies.
  bool share_bodies_ = false;
  std::mutex sharing_mu_;
  std::map<std::string, queue::ReferenceMode> sharing_seen_;  // final terms; sharing_mu_
  MessageProcessor& processor_;
  WorkerMetrics metrics_;
  metrics::StageLatency stage_latency_;  // inbound_wait, deliver_durable
  std::vector<std::unique_ptr<Member>> members_;
  std::thread lag_thread_;
  // Label values of the lag series this process exports (PublishOwnedLag).
  std::set<std::vector<std::string>> lag_shown_;
  std::mutex lag_mu_;
  std::condition_variable lag_cv_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;  // main thread
  std::atomic<bool> running_{false};
  TenantCounters* counters_ = nullptr;
};

}  // namespace sg::workers
