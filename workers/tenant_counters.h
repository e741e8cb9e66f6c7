// TenantCounters: message counters per tenant for usage reporting (issue 19,
// docs/usage.md): signed, encrypted, decrypted, verified, bounced and
// web_encrypted, counted once per processed message and action from the
// policy's notes (a signed+encrypted form counts as signed and encrypted).
// The tenant is the one owning the hosted domain of the message: the
// envelope sender's for outbound mail, the recipient's (the note's) for
// inbound mail; mail of no hosted domain is not counted.
//
// Counts go to the Prometheus counter smimegate_tenant_messages_total
// {tenant, kind} at once, and to the keyservice in batches: Flush() hands
// what was counted since the last successful flush to `sink` (the
// composition root: UsageAdmin::UsageRecordMessages, in process or over
// gRPC), never one call per message; a failed flush keeps the counts for the
// next one. A background thread flushes every `interval` (and at Stop).
//
// Threading: Observe from any worker thread; ReplaceDomains from the
// follower's; the sink runs on the flush thread (or the caller of Flush).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/result.h"
#include "proto/envelope.pb.h"

namespace sg::workers {

class TenantCounters {
 public:
  // tenant -> counter -> count
  using Batch = std::map<std::string, std::map<std::string, uint64_t>>;
  using Sink = std::function<Status(const Batch& batch)>;

  TenantCounters(Sink sink, metrics::Registry& registry,
                 std::chrono::milliseconds interval = std::chrono::seconds(10));
  ~TenantCounters();
  TenantCounters(const TenantCounters&) = delete;
  TenantCounters& operator=(const TenantCounters&) = delete;

  // Hosted domain (lower case) -> tenant id, as the registry says now.
  void ReplaceDomains(std::map<std::string, std::string> domains);

  // One processed record: `input` as consumed (its notes before processing:
  // `input_notes`), `outputs` as the policy produced them.
  void Observe(const smimegate::v1::Envelope& input, int input_notes,
               const std::vector<smimegate::v1::MessageRecord>& outputs);

  Status Flush();
  void Start();
  void Stop();  // flushes once more

 private:
  std::string TenantOf(const std::string& address) const;
  void Count(const std::string& tenant, const std::string& kind);

  Sink sink_;
  metrics::Family<metrics::Counter>& total_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::map<std::string, std::string>> domains_ =
      std::make_shared<const std::map<std::string, std::string>>();
  Batch pending_;
  std::mutex flush_mu_;  // one flush at a time
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sg::workers
