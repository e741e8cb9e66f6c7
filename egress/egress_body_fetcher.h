// BodyFetcher: resolves body references (common/queue_body_ref.h, "the body
// written once") on a few threads of its own, so that the egress loop never
// waits for the queue (issue 21). In the Kafka mode each reference is a fetch
// by offset from a broker: about 1 ms, and up to the reader's timeout (5 s)
// when a broker is slow or gone. On the loop that stalled every other
// delivery, commit and poll of the process; here only the message whose body
// is being fetched waits.
//
// What egress does around it (egress_service.cc): the carrier record's offset
// is added to the commit bookkeeping before its fetch starts, so no commit
// passes it until its outcome is durable; the answer is posted back to the
// loop, which starts the delivery, dead-letters an unresolved reference, or
// (broker unreachable) fetches again later.
//
// Bounded: egress counts a record being fetched as in flight
// (egress.max_inflight), so at most that many jobs wait here.
//
// Threading: Fetch from any thread. `done` runs on a fetcher thread (a
// common/thread_pool.h pool named sg-egress-body), once per job that was
// started; it must be quick and must not block (post to the loop). The
// destructor stops taking jobs, drops the ones not started (their `done`
// never runs: their records stay uncommitted and are read again) and joins
// the threads, each within the queue's read timeout.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "common/queue.h"
#include "common/result.h"
#include "common/thread_pool.h"
#include "proto/envelope.pb.h"

namespace sg::egress {

class BodyFetcher {
 public:
  struct Job {
    std::string key;                   // queue key of the record carrying the reference
    smimegate::v1::MessageRecord rec;  // with body_ref; the body is put into it
    std::string digest;                // the carrier's sg-body-sha256 header, or ""
  };
  // The record with its body (status OK), or as it came (an error from
  // queue::ResolveBody).
  using Done = std::function<void(Status, smimegate::v1::MessageRecord)>;

  // `queue` outlives the fetcher; `threads` >= 1.
  BodyFetcher(queue::Queue& queue, size_t threads);
  ~BodyFetcher();
  BodyFetcher(const BodyFetcher&) = delete;
  BodyFetcher& operator=(const BodyFetcher&) = delete;

  // Once the fetcher is being destroyed the job is dropped (`done` never runs).
  void Fetch(Job job, Done done);

 private:
  queue::Queue& queue_;
  ThreadPool pool_;  // unbounded: egress.max_inflight bounds what waits here
};

}  // namespace sg::egress
