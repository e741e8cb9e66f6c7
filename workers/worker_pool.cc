#include "workers/worker_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/cpu_quota.h"
#include "common/deadletter.h"
#include "common/log_event.h"
#include "common/queue_body_ref.h"
#include "common/queue_references.h"
#include "common/stage_latency.h"
#include "common/thread_name.h"
#include "common/topics.h"
#include "workers/worker_deadletter.h"

namespace sg::workers {

namespace {
using namespace std::chrono_literals;

// The acks of one batch's produces. Every callback holds a share of it: the
// batch may give up waiting (ack_timeout) and return while the queue still
// owns callbacks, which then run against a live waiter, never freed memory.
class AckWaiter : public std::enable_shared_from_this<AckWaiter> {
 public:
  queue::ProduceCallback Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++pending_;
    return [self = shared_from_this()](Status s) { self->Done(s); };
  }
  // True when every ack arrived within `timeout` and none failed.
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return pending_ == 0; }) && !failed_;
  }
  std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_ ? error_ : pending_ > 0 ? std::to_string(pending_) + " acks outstanding" : "";
  }

 private:
  void Done(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!s.ok()) {
      failed_ = true;
      error_ = s.error().ToString();
    }
    --pending_;
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = 0;
  bool failed_ = false;
  std::string error_;
};

constexpr std::string_view kNotBeforeHeader = "sg-not-before";

// The time (unix ms) a set-aside record is due, 0 when it is not one.
int64_t NotBefore(const queue::Record& rec) {
  auto v = rec.FindHeader(kNotBeforeHeader);
  if (!v) return 0;
  int64_t t = 0;
  for (char c : *v) {
    if (c < '0' || c > '9' || t > (INT64_MAX - 9) / 10) return 0;  // malformed: due now
    t = t * 10 + (c - '0');
  }
  return t;
}

// `rec` put back at the tail of its topic, due at `not_before`.
queue::OutRecord SetAside(const queue::Record& rec, std::string value, int64_t not_before) {
  queue::OutRecord out;
  out.topic = rec.topic;
  out.key = rec.key;
  out.value = std::move(value);
  for (const auto& h : rec.headers) {
    if (h.key != kNotBeforeHeader) out.headers.push_back(h);
  }
  out.headers.push_back({std::string(kNotBeforeHeader), std::to_string(not_before)});
  return out;
}

// The log line about one record (keys as in common/message_log.h): the
// record key is the message id.
log::Event RecordEvent(const queue::Record& rec, std::string_view direction) {
  log::Event e("workers");
  e.Field("message_id", rec.key)
      .Field("direction", direction)
      .Field("topic", rec.topic)
      .Field("partition", rec.partition)
      .Field("offset", rec.offset);
  return e;
}

int AttemptOf(const queue::Record& r) {
  auto a = r.FindHeader("sg-attempt");
  if (!a) return 0;
  try {
    return std::stoi(std::string(*a));
  } catch (...) {
    return 0;
  }
}
}  // namespace

WorkerPool::WorkerPool(WorkerConfig config, const queue::QueueConfig& queue_config,
                       queue::Queue& queue, MessageProcessor& processor,
                       metrics::Registry& registry, WorkerDsn dsn, const Clock& clock)
    : config_(std::move(config)),
      dsn_(std::move(dsn)),
      clock_(clock),
      inbound_topic_(queue_config.Topic(topics::kInbound)),
      outbound_topic_(queue_config.Topic(topics::kOutbound)),
      deliver_topic_(queue_config.Topic(topics::kDeliver)),
      portal_topic_(queue_config.Topic(topics::kPortal)),
      deadletter_topic_(queue_config.Topic(topics::kDeadLetter)),
      portal_reply_topic_(queue_config.Topic(topics::kPortalReply)),
      queue_(queue),
      share_bodies_(config_.share_bodies),
      processor_(processor),
      metrics_(registry),
      stage_latency_(registry) {}

WorkerPool::~WorkerPool() { Stop(); }

queue::ReferenceMode WorkerPool::SharingFor(const std::string& topic, size_t size) {
  queue::ReferenceMode mode = queue::ReferenceMode::kCopy;
  {
    std::lock_guard<std::mutex> lock(sharing_mu_);
    auto it = sharing_seen_.find(topic);
    if (it != sharing_seen_.end()) {
      mode = it->second;
    } else {
      // Asked once per topic: the terms of a queue are final once they are
      // not pending (Kafka's come from one DescribeConfigs or from the
      // configuration; the embedded queue's never change).
      queue::ReferenceTerms terms = queue::ReferenceTermsFor(queue_, topic);
      if (terms.pending) return queue::ReferenceMode::kCopy;  // said once it is known
      mode = terms.mode;
      sharing_seen_.emplace(topic, mode);
      const bool on = mode != queue::ReferenceMode::kCopy;
      metrics_.body_sharing.WithLabels({topic}).Set(on ? 1 : 0);
      if (on) {
        spdlog::info("workers: deliver records refer to the bodies of {} ({})", topic,
                     terms.reason);
      } else {
        spdlog::warn("workers: bodies of {} are copied, not referred to: {}", topic, terms.reason);
      }
    }
  }
  // Below the threshold a copy costs less than the reference.
  if (mode != queue::ReferenceMode::kCopy &&
      size < config_.MinShareBytes(mode == queue::ReferenceMode::kPinned)) {
    return queue::ReferenceMode::kCopy;
  }
  return mode;
}

Status WorkerPool::Start() {
  // Default: one per CPU the process may use (its cgroup quota).
  int n = config_.threads > 0 ? config_.threads : static_cast<int>(AvailableCpus());
  for (int i = 0; i < n; ++i) {
    auto m = std::make_unique<Member>();
    std::vector<std::string> topics{inbound_topic_, outbound_topic_};
    if (config_.portal_replies) topics.push_back(portal_reply_topic_);
    SG_ASSIGN_OR_RETURN(m->consumer, queue_.CreateConsumer(config_.group, topics));
    SG_ASSIGN_OR_RETURN(m->producer, queue_.CreateProducer());
    members_.push_back(std::move(m));
  }
  for (auto& m : members_) {
    Member* raw = m.get();
    raw->thread = std::thread([this, raw] {
      SetCurrentThreadName("sg-worker");
      Run(*raw);
    });
  }
  lag_thread_ = std::thread([this] {
    SetCurrentThreadName("sg-worker-lag");
    ReportLag();
  });
  running_ = true;
  spdlog::info("workers: {} threads consuming {} and {}{}", n, inbound_topic_, outbound_topic_,
               config_.portal_replies ? " and " + portal_reply_topic_ : std::string());
  return OkStatus();
}

void WorkerPool::RequestStop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(lag_mu_);
  }
  lag_cv_.notify_all();
  for (auto& m : members_) {
    if (m->consumer) m->consumer->Wakeup();
  }
}

void WorkerPool::Stop() {
  if (stopped_) return;
  stopped_ = true;
  RequestStop();
  if (lag_thread_.joinable()) lag_thread_.join();
  std::vector<queue::Consumer*> consumers;
  for (auto& m : members_) {
    if (m->thread.joinable()) m->thread.join();
    consumers.push_back(m->consumer.get());
  }
  queue::CloseAll(consumers);  // at the same time: each may wait for a gone broker
  PublishOwnedLag();           // closed members own nothing: no series is left
  running_ = false;
}

void WorkerPool::ReportLag() {
  std::unique_lock<std::mutex> lock(lag_mu_);
  while (!stopping_.load()) {
    lock.unlock();
    PublishOwnedLag();
    lock.lock();
    lag_cv_.wait_for(lock, config_.lag_interval, [this] { return stopping_.load(); });
  }
}

void WorkerPool::PublishOwnedLag() {
  // Each member reports only the partitions it owns (no broker request):
  // the members of a group own disjoint partitions, so summing the series
  // of every pod counts each partition once.
  std::set<std::vector<std::string>> now;
  for (auto& m : members_) {
    if (!m->consumer) continue;
    for (const auto& l : m->consumer->OwnedLag()) {
      std::vector<std::string> labels{config_.group, l.tp.topic, std::to_string(l.tp.partition)};
      metrics_.lag.WithLabels(labels).Set(static_cast<double>(l.lag()));
      now.insert(std::move(labels));
    }
  }
  for (const auto& labels : lag_shown_) {
    if (now.count(labels) == 0) metrics_.lag.Remove(labels);  // rebalanced away
  }
  lag_shown_ = std::move(now);
}

void WorkerPool::ResumeDue(Member& m) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = m.paused.begin(); it != m.paused.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    m.consumer->Resume({it->first.first, it->first.second});
    it = m.paused.erase(it);
  }
}

void WorkerPool::ParkPartitions(Member& m,
                                const std::map<std::pair<std::string, int32_t>, int64_t>& park,
                                const std::vector<queue::Record>& batch) {
  const int64_t now_ms = clock_.NowMs();
  for (const auto& [tp, offset] : park) {
    int64_t due = now_ms;
    for (const auto& r : batch) {
      if (r.topic == tp.first && r.partition == tp.second && r.offset == offset) due = NotBefore(r);
    }
    if (auto st = m.consumer->Seek({tp.first, tp.second}, offset); !st.ok()) {
      spdlog::warn("workers: {}/{}: rewind to {} failed: {}", tp.first, tp.second, offset,
                   st.error().ToString());
      continue;
    }
    // At most a second: records produced behind it meanwhile move it back.
    const auto wait = std::clamp<int64_t>(due - now_ms, 1, 1000);
    m.consumer->Pause({tp.first, tp.second});
    m.paused[tp] = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
  }
}

void WorkerPool::Run(Member& m) {
  std::chrono::milliseconds backoff = 250ms;
  while (!stopping_.load()) {
    ResumeDue(m);
    auto polled = m.consumer->Poll(static_cast<size_t>(config_.max_batch), 500ms);
    if (!polled.ok()) {
      if (polled.error().code == ErrorCode::kCancelled) return;
      spdlog::warn("workers: poll failed: {}", polled.error().ToString());
      std::this_thread::sleep_for(200ms);
      continue;
    }
    if (polled->empty()) continue;
    const int64_t picked_ms = clock_.NowMs();
    for (const auto& r : *polled) {
      stage_latency_.ObserveSinceMs(metrics::StageLatency::Hop::kInboundWait, r.timestamp_ms,
                                    picked_ms);
    }
    size_t done = ProcessBatch(m, *polled);
    if (done < polled->size()) {
      // A dependency is down (or the queue refused a publish): read the rest
      // again from the first unfinished offset of each partition, after a
      // pause that grows while the outage lasts. No attempt is counted: the
      // messages are not at fault.
      std::map<std::pair<std::string, int32_t>, int64_t> first;
      for (size_t i = done; i < polled->size(); ++i) {
        const auto& r = (*polled)[i];
        auto key = std::make_pair(r.topic, r.partition);
        if (!first.count(key)) first[key] = r.offset;
      }
      for (const auto& [tp, off] : first) {
        if (auto st = m.consumer->Seek({tp.first, tp.second}, off); !st.ok()) {
          spdlog::warn("workers: {}/{}: rewind to {} failed: {}", tp.first, tp.second, off,
                       st.error().ToString());
        }
      }
      std::unique_lock<std::mutex> lock(lag_mu_);
      lag_cv_.wait_for(lock, backoff, [this] { return stopping_.load(); });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 30s);
    } else {
      backoff = 250ms;
    }
  }
}

std::string WorkerPool::BindOrigin(const queue::Record& rec,
                                   smimegate::v1::MessageRecord& msg) const {
  if (rec.topic == portal_reply_topic_) {
    msg.mutable_envelope()->set_origin(smimegate::v1::ORIGIN_PORTAL);
    return {};
  }
  if (msg.envelope().origin() == smimegate::v1::ORIGIN_PORTAL) {
    return "origin PORTAL on " + rec.topic + ": portal replies come only on " + portal_reply_topic_;
  }
  return {};
}

size_t WorkerPool::ProcessBatch(Member& m, std::vector<queue::Record>& batch) {
  auto acks = std::make_shared<AckWaiter>();
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  // Set-aside records not yet due that end their partition's part of the
  // batch: the partition is read again from there after a pause.
  std::map<std::pair<std::string, int32_t>, int64_t> park;
  std::map<std::pair<std::string, int32_t>, size_t> last_of;
  for (size_t i = 0; i < batch.size(); ++i) last_of[{batch[i].topic, batch[i].partition}] = i;
  size_t done = 0;
  // When each processed record was finished: its "deliver_durable" hop
  // ends when the acks of the batch are in.
  std::vector<std::chrono::steady_clock::time_point> finished;
  finished.reserve(batch.size());
  for (size_t index = 0; index < batch.size(); ++index) {
    auto& rec = batch[index];
    auto started = std::chrono::steady_clock::now();
    if (const int64_t due = NotBefore(rec); due > clock_.NowMs()) {
      const auto tp = std::make_pair(rec.topic, rec.partition);
      if (last_of[tp] == index) {
        park[tp] = rec.offset;  // nothing behind it yet: wait here
        ++done;
        continue;
      }
      // Records came after it: it goes behind them, they go on.
      m.producer->Produce(SetAside(rec, rec.value, due), acks->Add());
      auto& n = next[tp];
      n = std::max(n, rec.offset + 1);
      ++done;
      continue;
    }
    smimegate::v1::MessageRecord msg;
    const std::string_view direction = rec.topic == inbound_topic_        ? "inbound"
                                       : rec.topic == portal_reply_topic_ ? "portal-reply"
                                                                          : "outbound";
    // Gives up on the record: dead letter, and a DSN to its sender.
    auto dead_letter = [&](const std::string& reason, bool permanent = true,
                           bool tell_sender = true) {
      RecordEvent(rec, direction)
          .Field("action", "dead_letter")
          .Field("reason", reason)
          .Field("permanent", permanent)
          .Field("dsn", tell_sender)
          .Error();
      GiveUpContext ctx{deadletter_topic_, deliver_topic_, dsn_.reporting_mta, dsn_.postmaster,
                        SystemClock::Instance().NowMs(), tell_sender};
      for (auto& out : GiveUpRecords(rec, reason, permanent, ctx)) {
        m.producer->Produce(std::move(out), acks->Add());
      }
      metrics_.dead_lettered.Inc();
    };
    std::string refused;
    if (!msg.ParseFromString(rec.value)) {
      dead_letter("record is not a valid MessageRecord");
    } else if (refused = BindOrigin(rec, msg); !refused.empty()) {
      // Not the sender's fault and not theirs to hear about: no DSN.
      dead_letter(refused, /*permanent=*/true, /*tell_sender=*/false);
    } else {
      std::optional<std::pair<smimegate::v1::Envelope, int>> counted;
      if (counters_ != nullptr) counted.emplace(msg.envelope(), msg.notes_size());
      auto result = processor_.Process(std::move(msg));
      if (result.ok() && counted) counters_->Observe(counted->first, counted->second, *result);
      if (result.ok()) {
        std::optional<std::string_view> source_body;  // found on first use
        for (auto& o : *result) {
          queue::OutRecord out;
          // Web encryption goes to the portal, which keeps it for the
          // recipient; everything else to egress.
          out.topic = o.destination() == smimegate::v1::DESTINATION_PORTAL ? portal_topic_
                                                                           : deliver_topic_;
          out.key = rec.key;
          if (o.set_aside_until_ms() != 0) {
            // The policy waits (the sender's certificate and the CA): back
            // to the tail of this topic, due later; the partition goes on.
            const int64_t due = o.set_aside_until_ms();
            o.clear_set_aside_until_ms();
            RecordEvent(rec, direction).Field("action", "set_aside").Field("not_before_ms", due).Info();
            m.producer->Produce(SetAside(rec, o.SerializeAsString(), due), acks->Add());
            metrics_.set_aside.Inc();
            continue;
          }
          if (!o.hold_reason().empty()) {
            // Kept, not delivered: a dead letter that `replay` puts back
            // onto the topic the record came from.
            out.topic = deadletter_topic_;
            out.headers = DeadLetterHeaders(o.hold_reason(), rec.topic);
            RecordEvent(rec, direction).Field("action", "held").Field("reason", o.hold_reason()).Warn();
            o.clear_hold_reason();
            metrics_.dead_lettered.Inc();
          }
          if (share_bodies_ && out.topic == deliver_topic_) {
            // Written once (issue 21): the same bytes as the record read.
            if (!source_body) source_body = queue::SerializedMessageField(rec.value).value_or("");
            const queue::ReferenceMode mode = SharingFor(rec.topic, source_body->size());
            if (mode == queue::ReferenceMode::kCopy) {
              // copied below with the rest of the record
            } else if (auto ref = queue::ShareBody(rec, *source_body, o)) {
              if (mode == queue::ReferenceMode::kPinned) {
                out.pins.push_back(std::move(*ref));
              } else {  // kRetained: no pin holds it, egress checks the digest
                out.headers.push_back(
                    {std::string(queue::kBodyDigestHeader), queue::BodyDigest(*source_body)});
              }
              metrics_.bodies_shared.Inc();
            }
          }
          if (!o.SerializeToString(&out.value)) {
            dead_letter("processed record cannot be serialised");
            continue;
          }
          m.producer->Produce(std::move(out), acks->Add());
          metrics_.outputs.Inc();
        }
        metrics_.processed.Inc();
      } else if (result.error().code == ErrorCode::kUnavailable ||
                 result.error().code == ErrorCode::kTimeout) {
        // A dependency (the keyservice) is down: stop here, keep the order.
        RecordEvent(rec, direction)
            .Field("action", "wait")
            .Field("reason", result.error().ToString())
            .Warn();
        metrics_.waiting.Inc();
        break;
      } else if (IsTransient(result.error().code) && AttemptOf(rec) + 1 < config_.max_attempts) {
        queue::OutRecord out;
        out.topic = rec.topic;
        out.key = rec.key;
        out.value = rec.value;
        for (const auto& h : rec.headers) {
          if (h.key != "sg-attempt") out.headers.push_back(h);
        }
        out.headers.push_back({"sg-attempt", std::to_string(AttemptOf(rec) + 1)});
        RecordEvent(rec, direction)
            .Field("action", "retry")
            .Field("reason", result.error().ToString())
            .Field("attempt", AttemptOf(rec) + 1)
            .Field("max_attempts", config_.max_attempts)
            .Warn();
        m.producer->Produce(std::move(out), acks->Add());
        metrics_.retried.Inc();
      } else {
        const ErrorCode code = result.error().code;
        dead_letter(result.error().ToString(), !IsTransient(code),
                    /*tell_sender=*/code != ErrorCode::kPermissionDenied);
      }
    }
    finished.push_back(std::chrono::steady_clock::now());
    metrics_.process_seconds.Observe(
        std::chrono::duration<double>(finished.back() - started).count());
    auto& n = next[{rec.topic, rec.partition}];
    n = std::max(n, rec.offset + 1);
    ++done;
  }
  if (!acks->Wait(config_.ack_timeout)) {
    spdlog::warn("workers: publishing a batch failed ({}); it will be read again", acks->error());
    return 0;
  }
  for (const auto& f : finished) {
    stage_latency_.ObserveSince(metrics::StageLatency::Hop::kDeliverDurable, f);
  }
  // Commit what is finished. Records of one partition come in offset order,
  // so the finished ones form a prefix of each partition.
  // One request for all of them (Kafka: one broker round trip per batch).
  std::vector<queue::Consumer::OffsetCommit> commits;
  commits.reserve(next.size());
  for (const auto& [tp, off] : next) commits.emplace_back(queue::TopicPartition{tp.first, tp.second}, off);
  for (const Status& s : m.consumer->CommitMany(commits)) {
    if (!s.ok() && s.error().code != ErrorCode::kPermissionDenied) {
      spdlog::warn("workers: commit failed: {}", s.error().ToString());
    }
  }
  ParkPartitions(m, park, batch);
  return done;
}

}  // namespace sg::workers
