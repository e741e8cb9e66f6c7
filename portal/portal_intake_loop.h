// One consumer of the portal topic (docs/portal.md "Intake"): polls up to
// `batch` records, hands them to the intake together (one store sync for
// all of them, portal_intake.h) and commits, per partition, the prefix of
// records that is finished. What an error of the intake means:
//
//  - transient (IsTransient: the store or the queue is down, a timeout):
//    the record and everything after it on its partition are read again
//    after a pause that grows while the outage lasts (250 ms .. 30 s);
//  - anything else (a broken record, a message sealed under an unknown
//    key, a template that cannot render, GMime that cannot write the mail):
//    retrying cannot help, so the record goes to the dead-letter topic with
//    its reason (header sg-reason, metric smimegate_portal_dead_letters_total)
//    and the partition moves on; one bad record never stops the others
//    (invariant 3: it ends in a visible state, "kept with a reason");
//  - an exception out of the intake (std::bad_alloc, std::regex_error) is
//    caught, logged, counted as an intake error and treated as transient:
//    it never reaches the thread (no std::terminate of `smimegate run`);
//    the batch is then handed over one record at a time, so the strike
//    lands on the record that throws, not on its neighbours;
//  - a recipient that failed for good (IntakeOutcome::dead_letters) is a
//    dead letter of its own (a copy of the record with only it), after the
//    same health probe; the record counts as finished once they are
//    confirmed;
//  - kCancelled (the queue is closing) is transient;
//  - before any failure is held against a record, the health probe runs
//    (the store answers, the deliver topic exists): when it fails, the loop
//    is not ready (ready() false, so /readyz fails) and the record is read
//    again without a strike; nothing is dead-lettered for an outage;
//  - with the dependencies healthy, a record that fails transiently (or
//    throws) kMaxAttempts times in a row at the same offset is a poison
//    record: it is dead-lettered with its last reason (review R5, R12).
//
// A record counts as finished only once its dead letter is confirmed by
// the queue; an unconfirmed one is read again.
//
// Threading: Run() on one thread; Stop() and finished() from any thread.
// Ownership: the consumer, producer and metrics outlive the loop.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/queue.h"
#include "common/result.h"
#include "portal/portal_intake_outcome.h"
#include "portal/portal_metrics.h"
#include "proto/envelope.pb.h"

namespace sg::portal {

class IntakeLoop {
 public:
  // One outcome per record, in order (Intake::HandleBatch).
  using Handler = std::function<std::vector<IntakeOutcome>(
      const std::vector<smimegate::v1::MessageRecord>&)>;
  // A handler of one record at a time (tests, simple intakes).
  static Handler PerRecord(std::function<Status(const smimegate::v1::MessageRecord&)> one);
  // Ok when the store and the queue topics the intake needs are there.
  using Health = std::function<Status()>;
  // Failures in a row at one offset, with the dependencies healthy, after
  // which a record is dead-lettered (a constant, not configured).
  static constexpr int kMaxAttempts = 5;

  IntakeLoop(queue::Consumer& consumer, queue::Producer& producer, std::string deadletter_topic,
             PortalMetrics& metrics, Handler handler, Health health = nullptr, size_t batch = 16)
      : consumer_(consumer),
        producer_(producer),
        deadletter_topic_(std::move(deadletter_topic)),
        metrics_(metrics),
        handler_(std::move(handler)),
        health_(std::move(health)),
        batch_(std::max<size_t>(batch, 1)) {}

  // Polls and handles until Stop().
  void Run();
  void Stop();
  // True once Run() has returned (stopped, or the consumer was closed).
  bool finished() const { return finished_; }
  // False while the last failure found a dependency missing (the store, the
  // deliver topic); true again once a record finishes.
  bool ready() const { return ready_; }

  // Handles the records in order; returns how many from the front are
  // finished (stored, or confirmed on the dead-letter topic) and commits
  // them. The rest must be read again.
  size_t HandleBatch(const std::vector<queue::Record>& batch);

 private:
  // The outcomes of the parsed records (nullopt: the record did not parse).
  std::vector<std::optional<IntakeOutcome>> CallHandler(const std::vector<queue::Record>& batch);
  std::vector<IntakeOutcome> CallGuarded(const std::vector<smimegate::v1::MessageRecord>& records);
  // kOk when finished; the error when the record must be read again.
  Status Finish(const queue::Record& record, const std::optional<IntakeOutcome>& outcome);
  // What a failed record gets: read again, or dead-lettered.
  Status Failed(const queue::Record& record, const Status& failure);
  // Ok when the dependencies are there (else: not ready, read again).
  Status Healthy(const Status& failure);
  // Ok once the copy is durable on the dead-letter topic.
  Status DeadLetterRecipient(const queue::Record& record, const RecipientDeadLetter& dead);
  // How many times in a row `record` has failed now (this one included).
  int Strike(const queue::Record& record);
  // Ok once the record is durable on the dead-letter topic.
  Status DeadLetter(const queue::Record& record, const std::string& reason,
                    const std::string* value = nullptr);
  void SeekBack(const std::vector<queue::Record>& batch, size_t from);
  void SeekBackQuietly(const std::vector<queue::Record>& batch) noexcept;
  void Pause(std::chrono::milliseconds d);

  queue::Consumer& consumer_;
  queue::Producer& producer_;
  const std::string deadletter_topic_;
  PortalMetrics& metrics_;
  const Handler handler_;
  const Health health_;
  const size_t batch_;
  // Per partition: the offset that failed last and how often in a row.
  std::map<std::pair<std::string, int32_t>, std::pair<int64_t, int>> strikes_;
  std::atomic<bool> ready_{true};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sg::portal
