#include "egress/egress_service.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "common/deadletter.h"
#include "common/mail/address.h"
#include "common/message_log.h"
#include "common/queue_body_ref.h"
#include "common/queue_ready.h"
#include "common/stage_latency.h"
#include "common/mail/dsn.h"
#include "common/thread_name.h"
#include "common/topics.h"
#include "egress/egress_backoff.h"
#include "egress/egress_body_fetcher.h"
#include "egress/egress_dane.h"
#include "egress/egress_data_writer.h"
#include "egress/egress_dedupe.h"
#include "egress/egress_deferred.h"
#include "egress/egress_dsn_limit.h"
#include "egress/egress_maildir.h"
#include "egress/egress_mta_sts.h"
#include "egress/egress_metrics.h"
#include "egress/egress_offsets.h"
#include "egress/egress_post_box.h"
#include "egress/egress_route.h"
#include "egress/egress_smtp_dispatcher.h"
#include "egress/egress_timer.h"

namespace sg::egress {
namespace v1 = smimegate::v1;

namespace {

constexpr size_t kMaxHeldRetries = 10000;
constexpr int64_t kProduceRetryMs = 1000;
// A refused or failed offset commit is retried after this, doubling up to the max.
constexpr int64_t kCommitRetryMinMs = 100;
constexpr int64_t kCommitRetryMaxMs = 5000;

struct Outcome {
  int code = 0;  // 0: not decided yet; 1: duplicate (delivered before)
  std::string text;
  std::string remote;
  std::string route;
  // The message itself is at fault (egress refused it): besides the DSN, a
  // copy is kept on the dead-letter topic for the administrator.
  bool keep = false;
  // Not attempted: kept on the dead-letter topic with this reason, no DSN.
  std::string dead_reason;
};

// What Finalize does with each recipient that was not delivered.
struct Decisions {
  std::vector<size_t> deferred;
  std::string last_error;  // of the deferred ones
  std::vector<mail::FailedRecipient> bounce;
  std::vector<std::pair<size_t, std::string>> dead;  // index, reason
  std::vector<size_t> kept;                          // bounced, and kept as one dead letter
  std::string kept_reason;
};

// A body reference the queue could not answer for now (a Kafka broker
// down or slow): fetched again later, not dead-lettered.
bool Unreachable(const Error& e) {
  return e.code == ErrorCode::kTimeout || e.code == ErrorCode::kUnavailable;
}

// The dead-letter reason of a deliver record whose body reference did not
// resolve.
std::string UnresolvedReason(const Error& e) {
  return "egress: " + e.message +
         "; the message cannot be delivered without it (the record is kept here with its "
         "envelope)";
}

// The log line about one message and recipient (keys: common/message_log.h).
log::Event RcptEvent(const v1::MessageRecord& rec, const std::string& rcpt,
                     std::string_view action) {
  log::Event e = log::MessageEvent("egress", rec.envelope());
  e.Field("rcpt", rcpt).Field("action", action);
  if (!rec.form_id().empty()) e.Field("form", rec.form_id());
  return e;
}

}  // namespace

class EgressService::Impl {
 public:
  Impl(EgressConfig config, queue::Queue& queue, metrics::Registry& registry,
       std::string prefix, EgressDeps deps)
      : config_(std::move(config)), queue_(queue), metrics_(registry),
        stage_latency_(registry),
        deliver_topic_(topics::Name(prefix, topics::kDeliver)),
        retry_topic_(topics::Name(prefix, topics::kRetry)),
        deadletter_topic_(topics::Name(prefix, topics::kDeadLetter)),
        deps_(std::move(deps)), router_(config_), dsn_limiter_(config_.dsn_rate_limit) {
    clock_ = deps_.clock != nullptr ? deps_.clock : &SystemClock::Instance();
  }

  ~Impl() {
    posts_->Close();
    if (loop_inited_) {
      dispatcher_.reset();
      mta_sts_.reset();
      dane_.reset();
      sts_fetcher_.reset();  // joins its worker; closes its handle
      resolver_.reset();
      uv_run(&loop_, UV_RUN_NOWAIT);  // close callbacks of anything reset just now
      uv_loop_close(&loop_);
    }
  }

  Status Start(std::atomic<bool>& ready);
  // The loop notices at once (a posted tick), not at its next poll_interval.
  void RequestStop() {
    stop_requested_ = true;
    Post([this] { OnTick(); });
  }
  size_t ReplaceTenantRoutes(const TenantRoutes& routes) { return router_.ReplaceTenantRoutes(routes); }
  void Stop();

 private:
  struct Task {
    uint64_t id = 0;
    queue::TopicPartition tp;
    int64_t offset = 0;
    v1::MessageRecord rec;
    std::vector<Outcome> outcomes;
    size_t pending_jobs = 0;
    size_t pending_produces = 0;
    bool finalized = false;
    bool replayed = false;  // put back by `smimegatectl deadletter replay`
    // When egress read it off the deliver topic (unset for retries): the
    // start of the "delivery" hop (common/stage_latency.h).
    std::optional<std::chrono::steady_clock::time_point> picked;
  };
  void Run();
  void Post(std::function<void()> fn);
  void DrainPosted();
  void OnTick();
  // Hands the finished records' commit points to the syncer. Not while a
  // failed commit waits for its retry (commit_retry_at_ms_), unless `force`
  // (a rebalance hand-over, the shutdown).
  void DoCommits(bool force = false);
  // Commits what the dedupe sync covers. A commit that fails (a broker
  // refuses commits while the group rebalances) is handed out again after a
  // back-off; the partition's records are never read twice here meanwhile
  // (OffsetTracker::IsFinished).
  void CommitSynced();
  void PollDeliver();
  // The queue said deliver records are durable (wake_on_data): poll now
  // rather than at the next tick.
  void OnDeliverReady();
  // Resolves the body reference of `rec` (carried by `carrier`, whose offset
  // is already open in offsets_) on the BodyFetcher; OnBodyFetched takes the
  // answer on the loop.
  void FetchBody(queue::Record carrier, v1::MessageRecord rec,
                 std::chrono::steady_clock::time_point picked);
  void SubmitFetch(uint64_t id, v1::MessageRecord rec);
  void OnBodyFetched(uint64_t id, const Status& st, v1::MessageRecord rec);
  // Fetches again the bodies whose queue was unreachable, once due.
  void FetchAgainDue();
  void PollRetry();
  // Forgets what this egress holds of partitions a rebalance gave to
  // another egress (they read those records again): held retries are
  // dropped, no commit point is handed out for them. Right after each Poll,
  // which is where rebalances happen.
  void ForgetLostPartitions(queue::Consumer& consumer);
  // A rebalance is taking partitions from `consumer` (SetDrainOnRevoke):
  // waits, tick after tick, until no record of them is being delivered or
  // egress.rebalance_drain_timeout has passed since `since_ms` (set at the
  // first tick that sees them; -1 when none), then commits what is done and
  // lets them go. Records still being delivered then are counted.
  void DrainRevoking(queue::Consumer& consumer, int64_t& since_ms);
  // Tasks of records from `tps` (being delivered, or their outcome being
  // produced).
  size_t InflightOn(const std::vector<queue::TopicPartition>& tps) const;
  // Every done offset committed now: the dedupe store is synced on the loop
  // (as at shutdown), because the group's rebalance waits for it.
  void CommitNow();
  void StartDueRetries();
  void StartRetry(std::unique_ptr<Deferred> d);
  friend class EgressQueueAdmin;
  // `smimegatectl queue` (common/mail_queue.h), on the loop thread.
  std::vector<mailqueue::Entry> QueueEntries(const std::string& message_id);
  Result<uint32_t> QueueHold(const std::string& message_id, const std::string& who);
  Result<uint32_t> QueueRelease(const std::string& message_id);
  Result<uint32_t> QueueDelete(const std::string& message_id, const std::string& who);
  // Runs fn on the loop and waits for its answer; kUnavailable when the
  // loop is not running or does not answer within 10 s.
  template <typename T>
  Result<T> OnLoop(std::function<Result<T>()> fn);
  // kNotFound or kFailedPrecondition for an id no record of `state` matched.
  Status NotQueued(const std::string& message_id, std::string_view state);
  // `picked`: when it was read off the deliver topic (nullopt: a retry).
  void StartTask(const queue::TopicPartition& tp, int64_t offset, v1::MessageRecord rec,
                 bool replayed, std::optional<std::chrono::steady_clock::time_point> picked = {});
  void Deliver(Task& task);
  void JobDone(uint64_t task_id, std::vector<size_t> indices, const std::string& route,
               SmtpJobResult result);
  // Records the recipients `indices` of the task as delivered in one write,
  // not fsynced (the sync thread does that before the queue commit).
  void MarkDelivered(Task& task, const std::vector<size_t>& indices);
  // A message egress will not send (a bare CR or LF): every recipient fails,
  // kept. False when the message is fine.
  bool RefuseUnsendable(Task& task);
  // True (and the outcome set) when recipient i of one of our DSNs is over
  // the DSN rate limit of its domain.
  bool OverDsnRateLimit(Task& task, size_t i);
  void MaybeFinalize(Task& task);
  Decisions Decide(Task& task, int64_t now, int64_t first, uint32_t attempts);
  static v1::MessageRecord CopyFor(const v1::MessageRecord& rec, const std::vector<size_t>& indices);
  void Finalize(Task& task);
  void ProduceFor(uint64_t task_id, queue::OutRecord record);
  void ProduceDone(uint64_t task_id);
  void DeadLetterRaw(const queue::Record& record, const std::string& reason);
  queue::OutRecord DeadLetterRecord(const v1::MessageRecord& rec, const std::string& reason,
                                    const std::string& source_topic);
  void FinishShutdown();
  size_t Inflight() const { return tasks_.size() + resolving_.size(); }

  EgressConfig config_;
  queue::Queue& queue_;
  EgressMetrics metrics_;
  metrics::StageLatency stage_latency_;
  std::string deliver_topic_, retry_topic_, deadletter_topic_;
  EgressDeps deps_;
  Router router_;
  DsnRateLimiter dsn_limiter_;
  const Clock* clock_ = nullptr;

  std::unique_ptr<DedupeStore> dedupe_;
  std::unique_ptr<queue::Consumer> deliver_consumer_;
  std::unique_ptr<queue::Consumer> retry_consumer_;
  std::unique_ptr<queue::Producer> producer_;
  std::map<std::string, std::unique_ptr<MaildirWriter>> maildirs_;  // by route name

  uv_loop_t loop_{};
  uv_async_t async_{};
  uv_timer_t tick_{};
  std::unique_ptr<Resolver> resolver_;
  std::unique_ptr<DestinationPolicy> destinations_;
  std::unique_ptr<SmtpDispatcher> dispatcher_;
  // MTA-STS (egress.mta_sts.enabled): the policy cache, its fetcher and the look-up.
  std::unique_ptr<StsCache> sts_cache_;
  std::unique_ptr<HttpsStsFetcher> sts_fetcher_;
  std::unique_ptr<MtaSts> mta_sts_;
  std::unique_ptr<Dane> dane_;  // egress.dane.enabled
  std::thread thread_;

  // Shared with every produce callback: they may outlive this object.
  std::shared_ptr<PostBox> posts_ = std::make_shared<PostBox>();

  OffsetTracker offsets_;
  // Commits wait for the dedupe WAL sync that covers their deliveries. The
  // syncer thread fsyncs it off the loop, so the loop never blocks on disk.
  struct PendingCommit {
    uint64_t seq;
    queue::TopicPartition tp;
    int64_t next;
  };
  std::vector<PendingCommit> pending_commits_;
  uint64_t commit_seq_ = 0;                // loop thread
  uint64_t synced_seq_ = 0;                // loop thread (set by posted closures)
  int64_t commit_retry_at_ms_ = 0;         // loop thread: no commits before (back-off)
  int64_t commit_backoff_ms_ = 0;          // loop thread: 0 after a commit round without failure
  std::thread syncer_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t sync_requested_ = 0;            // guarded by sync_mu_
  bool syncer_stop_ = false;               // guarded by sync_mu_
  void SyncerLoop();
  std::map<uint64_t, std::unique_ptr<Task>> tasks_;
  // Deliver records whose body is being fetched (egress.body_fetch_threads),
  // by an id of their own; in flight, their offsets open. Once fetched they
  // become tasks (whole, like every task: retries, DSNs and holds copy them).
  struct Resolving {
    queue::Record carrier;  // as read: small (a reference); dead-lettered as it is
    v1::MessageRecord rec;  // parked here while waiting to be fetched again
    std::chrono::steady_clock::time_point picked;
    int64_t refetch_at_ms = -1;  // >= 0: parked, the queue was unreachable
  };
  std::map<uint64_t, Resolving> resolving_;
  // Declared after posts_: its threads' answers are posts, and it is gone
  // (joined) before the box.
  std::unique_ptr<BodyFetcher> fetcher_;
  uint64_t next_task_id_ = 1;
  DeferredSet deferred_;
  bool retry_paused_ = false;
  int64_t deliver_drain_since_ms_ = -1;  // DrainRevoking
  int64_t retry_drain_since_ms_ = -1;

  std::atomic<bool> stop_requested_{false};
  // A deliver wake-up is posted and has not run yet (shared with the ready
  // callback, which may outlive this object).
  std::shared_ptr<std::atomic<bool>> deliver_wake_pending_ =
      std::make_shared<std::atomic<bool>>(false);
  int64_t stop_deadline_ms_ = 0;
  bool stopping_ = false;
  bool abandoned_ = false;
  bool started_ = false;
  bool stopped_ = false;
  bool finished_ = false;
  bool loop_inited_ = false;
};

Status EgressService::Impl::Start(std::atomic<bool>& ready) {
  SG_ASSIGN_OR_RETURN(dedupe_, DedupeStore::Open(config_.dedupe_path,
                                                 std::chrono::duration_cast<std::chrono::seconds>(
                                                     config_.dedupe_ttl)));
  std::vector<const RouteConfig*> routes{&config_.inbound, &config_.outbound};
  for (const auto& r : config_.routes) routes.push_back(&r);
  for (const auto* r : routes) {
    if (r->transport != TransportKind::kMaildir) continue;
    auto writer = std::make_unique<MaildirWriter>(r->maildir_path);
    auto st = writer->Init();
    if (!st.ok()) {
      return MakeError(st.error().code, "egress." + r->name + ".path: " + st.error().message);
    }
    maildirs_[r->name] = std::move(writer);
  }
  SG_ASSIGN_OR_RETURN(deliver_consumer_, queue_.CreateConsumer(config_.consumer_group, {deliver_topic_}));
  SG_ASSIGN_OR_RETURN(retry_consumer_,
                      queue_.CreateConsumer(config_.consumer_group + "-retry", {retry_topic_}));
  SG_ASSIGN_OR_RETURN(producer_, queue_.CreateProducer());
  int fetch_threads = config_.body_fetch_threads;
  if (fetch_threads < 0) fetch_threads = queue_.SupportsPins() ? 0 : 2;  // egress_config.h
  if (fetch_threads > 0) {
    fetcher_ = std::make_unique<BodyFetcher>(queue_, static_cast<size_t>(fetch_threads));
  }
  if (config_.rebalance_drain_timeout.count() > 0) {
    deliver_consumer_->SetDrainOnRevoke(true);
    retry_consumer_->SetDrainOnRevoke(true);
  }

  uv_loop_init(&loop_);
  loop_inited_ = true;
  if (deps_.resolver_factory) {
    SG_ASSIGN_OR_RETURN(resolver_, deps_.resolver_factory(&loop_));
  } else {
    SG_ASSIGN_OR_RETURN(auto cares, CaresResolver::Create(&loop_, config_.dns));
    resolver_ = std::move(cares);
  }
  std::vector<Network> own = LocalAddresses();
  own.insert(own.end(), config_.own_addresses.begin(), config_.own_addresses.end());
  destinations_ = std::make_unique<DestinationPolicy>(std::move(own));
  dispatcher_ = std::make_unique<SmtpDispatcher>(&loop_, config_.smtp, *resolver_, metrics_,
                                                 *destinations_);
  if (config_.mta_sts.enabled) {
    sts_cache_ = std::make_unique<StsCache>(config_.mta_sts.cache_path);
    sts_fetcher_ = std::make_unique<HttpsStsFetcher>(&loop_, *resolver_, config_.mta_sts,
                                                     *destinations_, config_.outbound);
    mta_sts_ = std::make_unique<MtaSts>(*resolver_, *sts_fetcher_, *sts_cache_, *clock_, metrics_);
    dispatcher_->SetMtaSts(mta_sts_.get(), &config_.mta_sts);
    spdlog::info("egress: MTA-STS on ({} cached policies)", sts_cache_->size());
  }
  if (config_.dane.enabled) {
    dane_ = std::make_unique<Dane>(*resolver_, *clock_, config_.dane);
    dispatcher_->SetDane(dane_.get());
    spdlog::info("egress: DANE on (TLSA through the validating resolver of egress.dns.servers)");
  }
  uv_async_init(&loop_, &async_, [](uv_async_t* a) { static_cast<Impl*>(a->data)->DrainPosted(); });
  async_.data = this;
  uv_timer_init(&loop_, &tick_);
  tick_.data = this;
  posts_->Open(&async_);
  if (auto* notifier = queue::ReadyNotifierOf(*deliver_consumer_);
      notifier != nullptr && config_.wake_on_data) {
    // Called on the queue's writer thread: only a post, at most one pending.
    notifier->SetReadyCallback([posts = posts_, pending = deliver_wake_pending_, this] {
      if (pending->exchange(true)) return;
      posts->Post([this] { OnDeliverReady(); });
    });
  }
  started_ = true;
  syncer_ = std::thread([this] {
    SetCurrentThreadName("sg-egress-sync");
    SyncerLoop();
  });
  thread_ = std::thread([this] {
    SetCurrentThreadName("sg-egress");
    Run();
  });
  ready = true;
  spdlog::info("egress: started (deliver topic {}, retry topic {}, group {})", deliver_topic_,
               retry_topic_, config_.consumer_group);
  return OkStatus();
}

void EgressService::Impl::Run() {
  uint64_t interval = static_cast<uint64_t>(std::max<int64_t>(1, config_.poll_interval.count()));
  uv_timer_start(&tick_, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->OnTick(); }, 0, interval);
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void EgressService::Impl::Post(std::function<void()> fn) { posts_->Post(std::move(fn)); }

void EgressService::Impl::DrainPosted() {
  for (auto& fn : posts_->Take()) fn();
}

void EgressService::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!started_) {
    if (deliver_consumer_) deliver_consumer_->Close();
    if (retry_consumer_) retry_consumer_->Close();
    return;
  }
  RequestStop();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    syncer_stop_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  fetcher_.reset();  // a fetch still running ends within the queue's read timeout
  // The loop has ended: nothing else touches the consumers now.
  queue::CloseAll({deliver_consumer_.get(), retry_consumer_.get()});
  // Bounded like the drain: with the brokers gone nothing more will flush.
  const auto flush = std::min<std::chrono::milliseconds>(std::chrono::seconds(5),
                                                          config_.shutdown_timeout);
  if (auto st = producer_->Flush(flush); !st.ok()) {
    spdlog::warn("egress: stopping: queue producer flush failed: {}", st.error().ToString());
  }
  started_ = false;
}

void EgressService::Impl::OnTick() {
  if (stop_requested_ && !stopping_) {
    stopping_ = true;
    stop_deadline_ms_ = clock_->NowMs() + config_.shutdown_timeout.count();
    spdlog::info("egress: stopping, {} records in flight", Inflight());
  }
  DoCommits();
  if (stopping_) {
    // Parked fetches are not tried again: their records stay uncommitted.
    std::erase_if(resolving_, [](const auto& e) { return e.second.refetch_at_ms >= 0; });
    if (Inflight() == 0 || clock_->NowMs() >= stop_deadline_ms_) FinishShutdown();
    return;
  }
  DrainRevoking(*deliver_consumer_, deliver_drain_since_ms_);
  DrainRevoking(*retry_consumer_, retry_drain_since_ms_);
  StartDueRetries();
  FetchAgainDue();
  PollDeliver();
  PollRetry();
  metrics_.inflight().Set(static_cast<double>(Inflight()));
  metrics_.scheduled().Set(static_cast<double>(deferred_.size()));
}

void EgressService::Impl::DoCommits(bool force) {
  if (!force && clock_->NowMs() < commit_retry_at_ms_) return;
  auto ready = offsets_.TakeCommits();
  if (!ready.empty()) {
    const uint64_t seq = ++commit_seq_;
    for (auto& [tp, next] : ready) pending_commits_.push_back({seq, tp, next});
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      sync_requested_ = seq;
    }
    sync_cv_.notify_one();
  }
  CommitSynced();
}

void EgressService::Impl::CommitSynced() {
  size_t done = 0;
  while (done < pending_commits_.size() && pending_commits_[done].seq <= synced_seq_) ++done;
  if (done == 0) return;
  // One request per consumer for everything synced (Kafka: one round trip
  // on this loop instead of one per partition).
  bool failed = false;
  for (queue::Consumer* consumer : {deliver_consumer_.get(), retry_consumer_.get()}) {
    if (consumer == nullptr) continue;
    std::vector<queue::Consumer::OffsetCommit> batch;
    for (size_t i = 0; i < done; ++i) {
      const auto& c = pending_commits_[i];
      auto* owner = c.tp.topic == retry_topic_ ? retry_consumer_.get() : deliver_consumer_.get();
      if (owner == consumer) batch.emplace_back(c.tp, c.next);
    }
    if (batch.empty()) continue;
    const std::vector<Status> results = consumer->CommitMany(batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      const Status& st = results[i];
      if (st.ok() || st.error().code == ErrorCode::kCancelled) continue;  // closed: stopping
      // Refused (a rebalance), timed out, or the partition is between two
      // assignments (kPermissionDenied): hand the point out again later. If
      // the partition went to another egress, Lose() drops it.
      const auto& [tp, next] = batch[i];
      offsets_.CommitFailed(tp, next);
      failed = true;
      if (st.error().code != ErrorCode::kPermissionDenied) {
        spdlog::warn("egress: commit {}[{}]@{}: {}; retried", tp.topic, tp.partition, next,
                     st.error().ToString());
      }
    }
  }
  pending_commits_.erase(pending_commits_.begin(), pending_commits_.begin() + static_cast<long>(done));
  if (failed) {
    commit_backoff_ms_ =
        std::clamp<int64_t>(commit_backoff_ms_ * 2, kCommitRetryMinMs, kCommitRetryMaxMs);
    commit_retry_at_ms_ = clock_->NowMs() + commit_backoff_ms_;
  } else {
    commit_backoff_ms_ = 0;
    commit_retry_at_ms_ = 0;
  }
}

void EgressService::Impl::SyncerLoop() {
  uint64_t synced = 0;
  while (true) {
    uint64_t target;
    {
      std::unique_lock<std::mutex> lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return syncer_stop_ || sync_requested_ > synced; });
      if (syncer_stop_) return;
      target = sync_requested_;
    }
    auto st = dedupe_->Sync();
    if (!st.ok()) {
      spdlog::error("egress: {}; commits wait", st.error().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // this thread only
      continue;
    }
    synced = target;
    Post([this, target] {
      if (target > synced_seq_) synced_seq_ = target;
    });
  }
}

void EgressService::Impl::OnDeliverReady() {
  deliver_wake_pending_->store(false);
  // Stopping: the tick owns the shutdown, and polls no more.
  if (stop_requested_.load() || stopping_) return;
  PollDeliver();
}

void EgressService::Impl::PollDeliver() {
  const size_t max = static_cast<size_t>(config_.max_inflight);
  if (Inflight() >= max) return;
  auto records = deliver_consumer_->Poll(max - Inflight(), std::chrono::milliseconds(0));
  if (!records.ok()) {
    spdlog::warn("egress: poll {}: {}", deliver_topic_, records.error().ToString());
    return;
  }
  ForgetLostPartitions(*deliver_consumer_);
  std::vector<queue::TopicPartition> rewound;  // read again from a record on
  const int64_t picked_ms = clock_->NowMs();
  const auto picked = std::chrono::steady_clock::now();
  for (auto& r : *records) {
    stage_latency_.ObserveSinceMs(metrics::StageLatency::Hop::kDeliverWait, r.timestamp_ms,
                                  picked_ms);
    queue::TopicPartition tp{r.topic, r.partition};
    if (std::find(rewound.begin(), rewound.end(), tp) != rewound.end()) continue;
    // Read again after a rebalance while still in hand (being sent), or
    // finished here already (its commit was refused): not attempted twice.
    if (offsets_.IsOpen(tp, r.offset) || offsets_.IsFinished(tp, r.offset)) continue;
    v1::MessageRecord rec;
    if (!rec.ParseFromString(r.value)) {
      offsets_.Add(tp, r.offset);
      DeadLetterRaw(r, "egress: record is not a MessageRecord");
      continue;
    }
    if (rec.has_body_ref() && fetcher_) {
      offsets_.Add(tp, r.offset);  // no commit passes it until its outcome is durable
      FetchBody(std::move(r), std::move(rec), picked);
      continue;
    }
    if (rec.has_body_ref()) {
      // The body written once (common/queue_body_ref.h), with
      // egress.body_fetch_threads 0: fetched here on the loop, so every later
      // reader (retry, DSN, hold, queue admin) sees it whole.
      auto body = queue::ResolveBody(queue_, r.key, rec,
                                     r.FindHeader(queue::kBodyDigestHeader).value_or(""));
      if (!body.ok() && Unreachable(body.error()) && deliver_consumer_->Seek(tp, r.offset).ok()) {
        // The queue is unreachable for now (a Kafka broker down): this
        // record and the rest of its partition come again, in order.
        spdlog::warn("egress: {}; read again later", body.error().message);
        metrics_.BodyRef("deferred");
        rewound.push_back(tp);
        continue;
      }
      if (!body.ok()) {
        metrics_.BodyRef("unresolved");
        offsets_.Add(tp, r.offset);
        DeadLetterRaw(r, UnresolvedReason(body.error()));
        continue;
      }
      metrics_.BodyRef("resolved");
    }
    StartTask(tp, r.offset, std::move(rec), r.FindHeader("sg-replayed").has_value(), picked);
  }
}

void EgressService::Impl::FetchBody(queue::Record carrier, v1::MessageRecord rec,
                                    std::chrono::steady_clock::time_point picked) {
  const uint64_t id = next_task_id_++;
  Resolving& res = resolving_[id];
  res.carrier = std::move(carrier);
  res.picked = picked;
  SubmitFetch(id, std::move(rec));
}

void EgressService::Impl::SubmitFetch(uint64_t id, v1::MessageRecord rec) {
  const queue::Record& carrier = resolving_.at(id).carrier;
  BodyFetcher::Job job{carrier.key, std::move(rec),
                       std::string(carrier.FindHeader(queue::kBodyDigestHeader).value_or(""))};
  // On a fetcher thread: only a post (dropped by the box once egress stopped).
  fetcher_->Fetch(std::move(job), [posts = posts_, this, id](Status st, v1::MessageRecord done) {
    posts->Post([this, id, st = std::move(st), done = std::move(done)]() mutable {
      OnBodyFetched(id, st, std::move(done));
    });
  });
}

void EgressService::Impl::OnBodyFetched(uint64_t id, const Status& st, v1::MessageRecord rec) {
  auto it = resolving_.find(id);
  if (it == resolving_.end()) return;  // its partition went to another egress meanwhile
  if (!st.ok() && Unreachable(st.error())) {
    // The queue is unreachable for now (a Kafka broker down): the record
    // stays open, so nothing after it is committed, and is fetched again.
    spdlog::warn("egress: {}; fetching it again in {} ms", st.error().message, kProduceRetryMs);
    it->second.rec = std::move(rec);
    it->second.refetch_at_ms = clock_->NowMs() + kProduceRetryMs;
    metrics_.BodyRef("deferred");
    return;
  }
  Resolving res = std::move(it->second);
  resolving_.erase(it);
  if (!st.ok()) {
    metrics_.BodyRef("unresolved");
    DeadLetterRaw(res.carrier, UnresolvedReason(st.error()));
    return;
  }
  metrics_.BodyRef("resolved");
  StartTask({res.carrier.topic, res.carrier.partition}, res.carrier.offset, std::move(rec),
            res.carrier.FindHeader("sg-replayed").has_value(), res.picked);
}

void EgressService::Impl::FetchAgainDue() {
  const int64_t now = clock_->NowMs();
  for (auto& [id, res] : resolving_) {
    if (res.refetch_at_ms < 0 || res.refetch_at_ms > now) continue;
    res.refetch_at_ms = -1;
    SubmitFetch(id, std::move(res.rec));
  }
}

void EgressService::Impl::PollRetry() {
  const size_t max = static_cast<size_t>(config_.max_inflight);
  if (deferred_.size() >= kMaxHeldRetries && !retry_paused_) {
    for (const auto& tp : retry_consumer_->Assignment()) retry_consumer_->Pause(tp);
    retry_paused_ = true;
  }
  if (retry_paused_ && deferred_.size() < kMaxHeldRetries / 2) {
    for (const auto& tp : retry_consumer_->Assignment()) retry_consumer_->Resume(tp);
    retry_paused_ = false;
  }
  if (!retry_paused_ && Inflight() >= max) return;
  // Paused, this still polls: that keeps this member in the group (Kafka
  // drops a member that has not polled for max.poll.interval.ms, and a
  // rebalance waits for every member to poll). A partition assigned since
  // arrives unpaused: at most one of its records is taken, then it is
  // paused like the others.
  auto records = retry_consumer_->Poll(retry_paused_ ? 1 : max, std::chrono::milliseconds(0));
  if (retry_paused_) {
    for (const auto& tp : retry_consumer_->Assignment()) retry_consumer_->Pause(tp);
  }
  if (!records.ok()) {
    spdlog::warn("egress: poll {}: {}", retry_topic_, records.error().ToString());
    return;
  }
  ForgetLostPartitions(*retry_consumer_);
  for (auto& r : *records) {
    queue::TopicPartition tp{r.topic, r.partition};
    // Read again after a rebalance while still held or being attempted, or
    // finished here already (its commit was refused).
    if (offsets_.IsOpen(tp, r.offset) || offsets_.IsFinished(tp, r.offset)) continue;
    offsets_.Add(tp, r.offset);
    auto d = std::make_unique<Deferred>();
    d->tp = tp;
    d->offset = r.offset;
    if (!d->rec.ParseFromString(r.value)) {
      DeadLetterRaw(r, "egress: retry record is not a MessageRecord");
      continue;
    }
    if (auto held = r.FindHeader(kHeldHeader)) {
      d->held = true;
      d->held_by = std::string(*held);
    }
    deferred_.Add(std::move(d));
  }
  StartDueRetries();
}

void EgressService::Impl::ForgetLostPartitions(queue::Consumer& consumer) {
  for (const auto& tp : consumer.TakeLostPartitions()) {
    std::vector<int64_t> dropped;
    if (&consumer == retry_consumer_.get()) dropped = deferred_.DropPartition(tp);
    // Bodies being fetched: not started, so the new owner's (an answer
    // that comes later finds nothing).
    std::erase_if(resolving_, [&](const auto& e) {
      const queue::Record& c = e.second.carrier;
      if (c.topic != tp.topic || c.partition != tp.partition) return false;
      dropped.push_back(c.offset);
      return true;
    });
    offsets_.Lose(tp, dropped);
    spdlog::info("egress: partition {}[{}] went to another egress; {} waiting retries handed over",
                 tp.topic, tp.partition, dropped.size());
  }
}

void EgressService::Impl::DrainRevoking(queue::Consumer& consumer, int64_t& since_ms) {
  const std::vector<queue::TopicPartition> revoking = consumer.RevokingPartitions();
  if (revoking.empty()) {
    since_ms = -1;
    return;
  }
  const int64_t now = clock_->NowMs();
  if (since_ms < 0) since_ms = now;
  const size_t busy = InflightOn(revoking);
  if (busy > 0 && now - since_ms < config_.rebalance_drain_timeout.count()) return;
  if (busy > 0) {
    metrics_.RebalanceUndrained(busy);
    spdlog::warn(
        "egress: rebalance: {} records of the {} partitions being handed over are still "
        "being delivered after {} ms (egress.rebalance_drain_timeout); their new owner "
        "may deliver them again",
        busy, revoking.size(), now - since_ms);
  }
  CommitNow();
  consumer.ReleaseRevoking();
  spdlog::info(
      "egress: rebalance: {} partitions handed over after {} ms, their finished records "
      "committed",
      revoking.size(), now - since_ms);
  since_ms = -1;
}

size_t EgressService::Impl::InflightOn(const std::vector<queue::TopicPartition>& tps) const {
  size_t n = 0;
  for (const auto& [id, task] : tasks_) {
    if (std::find(tps.begin(), tps.end(), task->tp) != tps.end()) ++n;
  }
  for (const auto& [id, res] : resolving_) {
    const queue::TopicPartition tp{res.carrier.topic, res.carrier.partition};
    if (std::find(tps.begin(), tps.end(), tp) != tps.end()) ++n;
  }
  return n;
}

void EgressService::Impl::CommitNow() {
  DoCommits(/*force=*/true);
  if (auto st = dedupe_->Sync(); !st.ok()) {
    spdlog::warn(
        "egress: rebalance: {}; the records not committed are delivered again by the "
        "partitions' new owner",
        st.error().ToString());
    return;
  }
  synced_seq_ = commit_seq_;
  CommitSynced();
}

void EgressService::Impl::StartDueRetries() {
  // Not while retry partitions are being handed over: what starts now would
  // hold the rebalance up (Kafka's eager protocol revokes them all).
  if (retry_drain_since_ms_ >= 0 || !retry_consumer_->RevokingPartitions().empty()) return;
  const int64_t now = clock_->NowMs();
  const size_t max = static_cast<size_t>(config_.max_inflight);
  while (Inflight() < max) {
    auto d = deferred_.TakeDue(now);
    if (!d) break;
    StartRetry(std::move(d));
  }
}

void EgressService::Impl::StartRetry(std::unique_ptr<Deferred> d) {
  // Already in the tracker (added when polled): start without adding again.
  auto task = std::make_unique<Task>();
  task->id = next_task_id_++;
  task->tp = d->tp;
  task->offset = d->offset;
  task->rec = std::move(d->rec);
  Task& t = *task;
  tasks_[t.id] = std::move(task);
  Deliver(t);
}

void EgressService::Impl::StartTask(const queue::TopicPartition& tp, int64_t offset,
                                    v1::MessageRecord rec, bool replayed,
                                    std::optional<std::chrono::steady_clock::time_point> picked) {
  offsets_.Add(tp, offset);
  auto task = std::make_unique<Task>();
  task->replayed = replayed;
  task->picked = picked;
  task->id = next_task_id_++;
  task->tp = tp;
  task->offset = offset;
  task->rec = std::move(rec);
  Task& t = *task;
  tasks_[t.id] = std::move(task);
  Deliver(t);
}

bool EgressService::Impl::RefuseUnsendable(Task& task) {
  const std::string& message = task.rec.message();
  const size_t bare = FindBareLineEnding(message);
  if (bare == std::string::npos) return false;
  const auto& env = task.rec.envelope();
  const std::string reason = BareLineEndingReason(message, bare);
  log::MessageEvent("egress", env).Field("action", "refused").Field("reason", reason).Warn();
  metrics_.Refused("bare_line_ending");
  for (size_t i = 0; i < task.outcomes.size(); ++i) {
    Outcome& o = task.outcomes[i];
    o.route = router_.RouteFor(env.direction(), env.recipients(static_cast<int>(i)).address()).name;
    auto seen = dedupe_->Seen(env.message_id(), task.rec.form_id(),
                              env.recipients(static_cast<int>(i)).address());
    if (seen.ok() && *seen) {
      o.code = 1;
      continue;
    }
    o.code = 554;
    o.text = "5.6.0 " + reason;
    o.keep = true;
  }
  return true;
}

bool EgressService::Impl::OverDsnRateLimit(Task& task, size_t i) {
  const auto& rec = task.rec;
  const auto& env = rec.envelope();
  // Our own DSNs (egress's and the workers'), on their way to the internet,
  // counted once (not again on a retry); one the administrator replayed goes.
  if (!env.mail_from().empty() || env.direction() != v1::DIRECTION_OUTBOUND ||
      rec.delivery().attempt() > 0 || task.replayed) {
    return false;
  }
  bool dsn = false;
  for (const auto& note : rec.notes()) dsn = dsn || note.action() == "dsn";
  if (!dsn) return false;
  const std::string domain = mail::DomainOf(env.recipients(static_cast<int>(i)).address());
  if (dsn_limiter_.Allow(domain, clock_->NowMs())) return false;
  Outcome& o = task.outcomes[i];
  o.dead_reason = "DSN not sent: more than " + std::to_string(config_.dsn_rate_limit.max) +
                  " DSNs to " + domain + " within " + FormatDuration(config_.dsn_rate_limit.interval) +
                  " (egress.dsn_rate_limit); kept here, `smimegatectl deadletter replay` sends it";
  metrics_.Refused("dsn_rate_limit");
  RcptEvent(rec, env.recipients(static_cast<int>(i)).address(), "dsn_rate_limited")
      .Field("reason", o.dead_reason)
      .Warn();
  return true;
}

void EgressService::Impl::Deliver(Task& task) {
  const auto& env = task.rec.envelope();
  const size_t n = static_cast<size_t>(env.recipients_size());
  task.outcomes.assign(n, Outcome{});
  if (RefuseUnsendable(task)) {
    MaybeFinalize(task);
    return;
  }
  // Group recipients by destination: one transaction per destination.
  std::map<std::string, std::vector<size_t>> groups;
  std::map<std::string, const RouteConfig*> group_route;
  for (size_t i = 0; i < n; ++i) {
    const std::string& rcpt = env.recipients(static_cast<int>(i)).address();
    const RouteConfig& route = router_.RouteFor(env.direction(), rcpt);
    task.outcomes[i].route = route.name;
    auto seen = dedupe_->Seen(env.message_id(), task.rec.form_id(), rcpt);
    if (!seen.ok()) {
      task.outcomes[i].code = 451;
      task.outcomes[i].text = "4.3.0 " + seen.error().message;
      continue;
    }
    if (*seen) {
      task.outcomes[i].code = 1;  // delivered before this record was redelivered
      continue;
    }
    if (OverDsnRateLimit(task, i)) continue;
    if (route.transport == TransportKind::kMaildir) {
      MaildirDelivery md{env.message_id(), task.rec.form_id(), env.mail_from(), rcpt,
                         env.received_at_ms()};
      auto written = maildirs_.at(route.name)->Deliver(md, task.rec.message());
      if (!written.ok()) {
        task.outcomes[i].code = 451;
        task.outcomes[i].text = "4.3.0 " + written.error().message;
        continue;
      }
      // Not written now: a killed run linked it but did not record it.
      task.outcomes[i].code = *written ? 250 : 1;
      task.outcomes[i].text = "2.0.0 delivered to Maildir " + route.maildir_path;
      MarkDelivered(task, {i});  // the file itself is the record
      continue;
    }
    std::string key = Router::DestinationKey(route, rcpt);
    groups[key].push_back(i);
    group_route[key] = &route;
  }
  // One extra count while submitting: a job may complete inside Submit (a
  // synchronous connect failure), and the task must outlive this loop.
  task.pending_jobs = groups.size() + 1;
  const uint64_t id = task.id;
  for (auto& [key, indices] : groups) {
    const RouteConfig* route = group_route[key];
    SmtpJob job;
    job.route = route;
    job.domain = mail::DomainOf(env.recipients(static_cast<int>(indices[0])).address());
    job.txn.mail_from = env.mail_from();
    for (size_t i : indices) job.txn.recipients.push_back(env.recipients(static_cast<int>(i)));
    job.txn.message = &task.rec.message();
    job.txn.eight_bit_mime = env.eight_bit_mime();
    job.txn.smtputf8 = env.smtputf8();
    job.txn.dsn_ret = env.dsn_ret();
    job.txn.dsn_envid = env.dsn_envid();
    std::string route_name = route->name;
    // An init-capture: clang before 16 cannot capture a structured binding.
    job.done = [this, id, group = indices, route_name](SmtpJobResult r) {
      JobDone(id, group, route_name, std::move(r));
    };
    dispatcher_->Submit(key, std::move(job));
  }
  --task.pending_jobs;
  MaybeFinalize(task);
}

void EgressService::Impl::JobDone(uint64_t task_id, std::vector<size_t> indices,
                                  const std::string& route, SmtpJobResult result) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  Task& task = *it->second;
  std::vector<size_t> delivered;
  for (size_t k = 0; k < indices.size() && k < result.result.recipients.size(); ++k) {
    const auto& o = result.result.recipients[k];
    if (o.code >= 200 && o.code < 300) delivered.push_back(indices[k]);
  }
  // First thing after the peer's final reply: the shorter the time until
  // this write is recorded, the rarer a duplicate after a crash (RFC 1047).
  // Not fsynced here (that blocked the loop: 0.37x throughput); the write is
  // in the OS at once, so a killed process keeps it, and the sync thread
  // makes it power-safe before the queue offset is committed.
  if (!delivered.empty()) MarkDelivered(task, delivered);
  for (size_t k = 0; k < indices.size() && k < result.result.recipients.size(); ++k) {
    size_t i = indices[k];
    const auto& o = result.result.recipients[k];
    task.outcomes[i].code = o.code;
    task.outcomes[i].text = o.text;
    task.outcomes[i].remote = result.remote_host;
    task.outcomes[i].route = route;
  }
  --task.pending_jobs;
  MaybeFinalize(task);
}

void EgressService::Impl::MarkDelivered(Task& task, const std::vector<size_t>& indices) {
  const auto& env = task.rec.envelope();
  std::vector<std::string> rcpts;
  for (size_t i : indices) rcpts.push_back(env.recipients(static_cast<int>(i)).address());
  auto st = dedupe_->MarkDelivered(env.message_id(), task.rec.form_id(), rcpts, /*sync=*/false);
  if (!st.ok()) spdlog::error("egress: {}: {}", env.message_id(), st.error().ToString());
}

void EgressService::Impl::MaybeFinalize(Task& task) {
  if (task.pending_jobs == 0 && !task.finalized) Finalize(task);
}

Decisions EgressService::Impl::Decide(Task& task, int64_t now, int64_t first,
                                      uint32_t attempts) {
  const auto& env = task.rec.envelope();
  const bool expired = RetryExpired(config_.retry, first, now);
  Decisions d;
  for (size_t i = 0; i < task.outcomes.size(); ++i) {
    const Outcome& o = task.outcomes[i];
    const auto& rcpt = env.recipients(static_cast<int>(i));
    if (o.code == 1) {
      metrics_.Delivery("duplicate", o.route);
      continue;
    }
    if (!o.dead_reason.empty()) {
      d.dead.emplace_back(i, o.dead_reason);
      metrics_.Delivery("deadlettered", o.route);
      continue;
    }
    if (o.code >= 200 && o.code < 300) {
      metrics_.Delivery("delivered", o.route);
      if (env.received_at_ms() > 0) metrics_.QueueAge(static_cast<double>(now - env.received_at_ms()) / 1000.0);
      RcptEvent(task.rec, rcpt.address(), "delivered")
          .Field("peer", o.remote.empty() ? o.route : o.remote)
          .Field("status", std::to_string(o.code) + " " + o.text)
          .Info();
      continue;
    }
    const std::string reply = std::to_string(o.code) + " " + o.text;
    mail::FailedRecipient f;
    f.recipient = rcpt;
    f.remote_mta = o.remote;
    if (o.code >= 400 && o.code < 500) {
      if (!expired) {
        d.deferred.push_back(i);
        d.last_error = reply;
        metrics_.Delivery("deferred", o.route);
        RcptEvent(task.rec, rcpt.address(), "deferred")
            .Field("attempt", attempts)
            .Field("peer", o.remote)
            .Field("status", reply)
            .Info();
        continue;
      }
      f.status = "4.4.7";
      f.diagnostic = reply + " (retry time expired)";
    } else {
      f.status = mail::StatusFromReply(o.code, o.text);
      f.diagnostic = reply;
    }
    RcptEvent(task.rec, rcpt.address(), "failed")
        .Field("peer", o.remote)
        .Field("status", f.status)
        .Field("reason", f.diagnostic)
        .Info();
    if (env.mail_from().empty()) {
      d.dead.emplace_back(i, "undeliverable and the sender is the null sender: " + f.diagnostic);
      metrics_.Delivery("deadlettered", o.route);
      continue;
    }
    if (!mail::WantsFailureDsn(rcpt)) {
      d.dead.emplace_back(i, "undeliverable and the sender asked for no DSN (NOTIFY): " + f.diagnostic);
      metrics_.Delivery("deadlettered", o.route);
      continue;
    }
    if (o.keep) {
      d.kept.push_back(i);
      d.kept_reason = "refused by egress, the sender got a DSN: " + f.diagnostic;
    }
    d.bounce.push_back(std::move(f));
    metrics_.Delivery("bounced", o.route);
  }
  return d;
}

v1::MessageRecord EgressService::Impl::CopyFor(const v1::MessageRecord& rec,
                                               const std::vector<size_t>& indices) {
  v1::MessageRecord copy = rec;
  auto* env = copy.mutable_envelope();
  env->clear_recipients();
  for (size_t i : indices) *env->add_recipients() = rec.envelope().recipients(static_cast<int>(i));
  return copy;
}

void EgressService::Impl::Finalize(Task& task) {
  task.finalized = true;
  if (abandoned_) return;  // shutting down past the deadline: redelivered after restart
  if (task.picked) stage_latency_.ObserveSince(metrics::StageLatency::Hop::kDelivery, *task.picked);
  const auto& env = task.rec.envelope();
  const int64_t now = clock_->NowMs();
  const int64_t first = task.rec.delivery().first_attempt_at_ms() > 0
                            ? task.rec.delivery().first_attempt_at_ms()
                            : now;
  const uint32_t attempts = task.rec.delivery().attempt() + 1;
  Decisions d = Decide(task, now, first, attempts);

  std::vector<queue::OutRecord> out;
  if (!d.deferred.empty()) {
    v1::MessageRecord retry = CopyFor(task.rec, d.deferred);
    auto* del = retry.mutable_delivery();
    del->set_attempt(attempts);
    del->set_first_attempt_at_ms(first);
    del->set_next_attempt_at_ms(now + RetryDelayMs(config_.retry, attempts));
    del->set_last_error(d.last_error);
    queue::OutRecord r;
    r.topic = retry_topic_;
    r.key = env.message_id();
    r.value = retry.SerializeAsString();
    out.push_back(std::move(r));
    metrics_.RetryScheduled(task.outcomes[d.deferred[0]].route);
  }
  if (!d.bounce.empty()) {
    mail::DsnContext ctx{config_.smtp.helo_name, config_.postmaster, now};
    v1::MessageRecord dsn = mail::BuildFailureDsn(task.rec, d.bounce, ctx);
    queue::OutRecord r;
    r.topic = deliver_topic_;
    r.key = dsn.envelope().message_id();
    r.value = dsn.SerializeAsString();
    log::MessageEvent("egress", env)
        .Field("action", "dsn")
        .Field("dsn_message_id", dsn.envelope().message_id())
        .Field("to", env.mail_from())
        .Field("rcpts", d.bounce.size())
        .Info();
    out.push_back(std::move(r));
    metrics_.Dsn();
  }
  for (auto& [i, reason] : d.dead) {
    RcptEvent(task.rec, env.recipients(static_cast<int>(i)).address(), "dead_letter")
        .Field("reason", reason)
        .Warn();
    out.push_back(DeadLetterRecord(CopyFor(task.rec, {i}), reason, task.tp.topic));
  }
  if (!d.kept.empty()) {
    log::MessageEvent("egress", env)
        .Field("action", "kept")
        .Field("rcpts", d.kept.size())
        .Field("reason", d.kept_reason)
        .Info();
    out.push_back(DeadLetterRecord(CopyFor(task.rec, d.kept), d.kept_reason, task.tp.topic));
  }

  if (out.empty()) {
    offsets_.Done(task.tp, task.offset);
    tasks_.erase(task.id);
    return;
  }
  task.pending_produces = out.size();
  const uint64_t id = task.id;
  for (auto& r : out) ProduceFor(id, std::move(r));
}

queue::OutRecord EgressService::Impl::DeadLetterRecord(const v1::MessageRecord& rec,
                                                       const std::string& reason,
                                                       const std::string& source_topic) {
  queue::OutRecord r;
  r.topic = deadletter_topic_;
  r.key = rec.envelope().message_id();
  r.headers.push_back({std::string(deadletter::kReasonHeader), reason});
  r.headers.push_back({std::string(deadletter::kSourceTopicHeader), source_topic});
  r.headers.push_back({std::string(deadletter::kStageHeader), "egress"});
  v1::MessageRecord copy = rec;
  copy.mutable_delivery()->set_last_error(reason);
  r.value = copy.SerializeAsString();
  return r;
}

void EgressService::Impl::DeadLetterRaw(const queue::Record& record, const std::string& reason) {
  log::Event("egress")
      .Field("message_id", record.key)
      .Field("topic", record.topic)
      .Field("partition", record.partition)
      .Field("offset", record.offset)
      .Field("action", "dead_letter")
      .Field("reason", reason)
      .Warn();
  auto task = std::make_unique<Task>();
  task->id = next_task_id_++;
  task->tp = {record.topic, record.partition};
  task->offset = record.offset;
  task->finalized = true;
  task->pending_produces = 1;
  const uint64_t id = task->id;
  tasks_[id] = std::move(task);
  queue::OutRecord r;
  r.topic = deadletter_topic_;
  r.key = record.key;
  r.headers.push_back({std::string(deadletter::kReasonHeader), reason});
  r.headers.push_back({std::string(deadletter::kSourceTopicHeader), record.topic});
  r.headers.push_back({std::string(deadletter::kStageHeader), "egress"});
  r.value = record.value;
  metrics_.Delivery("deadlettered", "none");
  ProduceFor(id, std::move(r));
}

void EgressService::Impl::ProduceFor(uint64_t task_id, queue::OutRecord record) {
  auto copy = std::make_shared<queue::OutRecord>(record);
  // The callback holds the post box, not this object: it may run after the
  // service is gone (a flush at Stop that timed out), and then does nothing.
  producer_->Produce(std::move(record), [posts = posts_, this, task_id, copy](Status st) {
    posts->Post([this, task_id, copy, st]() {
      if (st.ok()) {
        ProduceDone(task_id);
        return;
      }
      if (abandoned_) return;
      spdlog::warn("egress: produce to {} failed, retrying in 1s: {}", copy->topic,
                   st.error().ToString());
      auto* timer = new uv_timer_t;
      uv_timer_init(&loop_, timer);
      struct Ctx {
        Impl* self;
        uint64_t id;
        std::shared_ptr<queue::OutRecord> rec;
      };
      timer->data = new Ctx{this, task_id, copy};
      uv_timer_start(
          timer,
          [](uv_timer_t* t) {
            auto* ctx = static_cast<Ctx*>(t->data);
            if (!ctx->self->abandoned_) ctx->self->ProduceFor(ctx->id, *ctx->rec);
            delete ctx;
            uv_close(reinterpret_cast<uv_handle_t*>(t),
                     [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
          },
          kProduceRetryMs, 0);
    });
  });
}

void EgressService::Impl::ProduceDone(uint64_t task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  Task& task = *it->second;
  if (--task.pending_produces > 0) return;
  offsets_.Done(task.tp, task.offset);
  tasks_.erase(it);
}

void EgressService::Impl::FinishShutdown() {
  if (finished_) return;
  finished_ = true;
  if (Inflight() > 0) {
    spdlog::warn("egress: {} records still in flight at shutdown; they will be delivered again",
                 Inflight());
    abandoned_ = true;
  }
  DoCommits(/*force=*/true);
  // Last commits: sync here (the loop is ending, blocking is fine now).
  if (dedupe_->Sync().ok()) {
    synced_seq_ = commit_seq_;
    CommitSynced();
  }
  dispatcher_->Shutdown();
  if (auto* cares = dynamic_cast<CaresResolver*>(resolver_.get())) cares->Shutdown();
  if (sts_fetcher_) sts_fetcher_->Shutdown();
  posts_->Close();
  uv_timer_stop(&tick_);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  // Whatever is still open (a produce-retry timer) closes too, so uv_run returns.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
}

namespace {

mailqueue::Entry QueueEntryOf(const v1::MessageRecord& rec, std::string state,
                              const queue::TopicPartition& tp, int64_t offset) {
  mailqueue::Entry e;
  const auto& env = rec.envelope();
  e.message_id = env.message_id();
  e.state = std::move(state);
  e.direction = env.direction() == v1::DIRECTION_INBOUND ? "inbound" : "outbound";
  e.mail_from = env.mail_from();
  for (const auto& r : env.recipients()) e.recipients.push_back(r.address());
  e.message_bytes = rec.message().size();
  e.attempts = rec.delivery().attempt();
  e.received_at_ms = env.received_at_ms();
  e.first_attempt_at_ms = rec.delivery().first_attempt_at_ms();
  e.next_attempt_at_ms = rec.delivery().next_attempt_at_ms();
  e.last_error = rec.delivery().last_error();
  e.position = tp.topic + ":" + std::to_string(tp.partition) + ":" + std::to_string(offset);
  return e;
}

}  // namespace

std::vector<mailqueue::Entry> EgressService::Impl::QueueEntries(const std::string& message_id) {
  std::vector<mailqueue::Entry> out;
  for (const auto& [id, task] : tasks_) {
    if (task->rec.envelope().message_id().empty()) continue;  // an undecodable record
    if (!message_id.empty() && task->rec.envelope().message_id() != message_id) continue;
    out.push_back(QueueEntryOf(task->rec, "active", task->tp, task->offset));
  }
  for (const Deferred* d : deferred_.All()) {
    if (!message_id.empty() && d->rec.envelope().message_id() != message_id) continue;
    out.push_back(QueueEntryOf(d->rec, d->held ? "held" : "deferred", d->tp, d->offset));
    if (d->held) {
      out.back().held_by = d->held_by;
      out.back().next_attempt_at_ms = 0;
    }
  }
  return out;
}

Status EgressService::Impl::NotQueued(const std::string& message_id, std::string_view state) {
  for (const auto& [id, task] : tasks_) {
    if (task->rec.envelope().message_id() == message_id) {
      std::string text = "message ";
      text += message_id;
      text += " is being attempted now; try again when the attempt has ended (`smimegatectl queue show ";
      text += message_id;
      text += "`)";
      return MakeError(ErrorCode::kUnavailable, text);
    }
  }
  for (Deferred* d : deferred_.Find(message_id)) {
    if (d->holding) {
      return MakeError(ErrorCode::kUnavailable,
                       "message " + message_id + " is being put on hold now; try again");
    }
  }
  return MakeError(ErrorCode::kNotFound,
                   "no " + std::string(state) + " message " + message_id + " in the queue");
}

Result<uint32_t> EgressService::Impl::QueueHold(const std::string& message_id,
                                                const std::string& who) {
  uint32_t n = 0;
  bool already = false;
  for (Deferred* d : deferred_.Find(message_id)) {
    already = already || d->held;
    if (d->held || d->holding) continue;
    // The held copy first; the deferred record is let go only once the copy
    // is on the queue (a crash in between leaves both: never neither).
    d->holding = true;
    ++n;
    queue::OutRecord r;
    r.topic = retry_topic_;
    r.key = message_id;
    r.headers.push_back({std::string(kHeldHeader), who});
    r.value = d->rec.SerializeAsString();
    // By its position, not its address: the record may be gone when the
    // copy is stored (its partition went to another egress meanwhile).
    producer_->Produce(std::move(r), [posts = posts_, this, tp = d->tp, offset = d->offset,
                                      message_id](const Status& st) {
      posts->Post([this, tp, offset, message_id, st] {
        Deferred* still = deferred_.At(tp, offset);
        if (still == nullptr) return;
        if (!st.ok()) {
          still->holding = false;
          spdlog::warn("egress: hold {}: produce to {} failed: {}", message_id, retry_topic_,
                       st.error().ToString());
          return;
        }
        auto taken = deferred_.Take(still);
        offsets_.Done(taken->tp, taken->offset);
        log::MessageEvent("egress", taken->rec.envelope()).Field("action", "held").Info();
      });
    });
  }
  if (n == 0 && !already) {
    SG_RETURN_IF_ERROR(NotQueued(message_id, "deferred"));
  }
  return n;
}

Result<uint32_t> EgressService::Impl::QueueRelease(const std::string& message_id) {
  std::vector<Deferred*> held;
  for (Deferred* d : deferred_.Find(message_id)) {
    if (d->held && !d->holding) held.push_back(d);
  }
  if (held.empty()) {
    SG_RETURN_IF_ERROR(NotQueued(message_id, "held"));
  }
  const int64_t now = clock_->NowMs();
  for (Deferred* d : held) {
    auto taken = deferred_.Take(d);
    taken->rec.mutable_delivery()->set_next_attempt_at_ms(now);
    log::MessageEvent("egress", taken->rec.envelope()).Field("action", "released").Info();
    StartRetry(std::move(taken));  // its outcome replaces the held record on the queue
  }
  return static_cast<uint32_t>(held.size());
}

Result<uint32_t> EgressService::Impl::QueueDelete(const std::string& message_id,
                                                  const std::string& who) {
  std::vector<Deferred*> found;
  for (Deferred* d : deferred_.Find(message_id)) {
    if (!d->holding) found.push_back(d);
  }
  if (found.empty()) {
    SG_RETURN_IF_ERROR(NotQueued(message_id, "deferred or held"));
  }
  const std::string reason = "deleted from the queue by " + (who.empty() ? std::string("an administrator") : who) +
                             " (smimegatectl queue delete)";
  for (Deferred* d : found) {
    auto taken = deferred_.Take(d);
    log::MessageEvent("egress", taken->rec.envelope())
        .Field("action", "deleted")
        .Field("reason", reason)
        .Warn();
    auto task = std::make_unique<Task>();
    task->id = next_task_id_++;
    task->tp = taken->tp;
    task->offset = taken->offset;
    task->finalized = true;
    task->pending_produces = 1;
    const uint64_t id = task->id;
    queue::OutRecord r = DeadLetterRecord(taken->rec, reason, taken->tp.topic);
    task->rec = std::move(taken->rec);
    tasks_[id] = std::move(task);
    metrics_.Delivery("deadlettered", "none");
    ProduceFor(id, std::move(r));
  }
  return static_cast<uint32_t>(found.size());
}

template <typename T>
Result<T> EgressService::Impl::OnLoop(std::function<Result<T>()> fn) {
  struct Reply {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<T>> value;
  };
  auto reply = std::make_shared<Reply>();
  const bool posted = !stop_requested_ && posts_->Post([reply, fn = std::move(fn)] {
    Result<T> r = fn();
    std::lock_guard<std::mutex> lock(reply->mu);
    reply->value.emplace(std::move(r));
    reply->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(reply->mu);
  if (posted && reply->cv.wait_for(lock, std::chrono::seconds(10), [&] { return reply->value.has_value(); })) {
    return std::move(*reply->value);
  }
  return MakeError(ErrorCode::kUnavailable, "egress is not running (stopping, or did not answer in 10 s)");
}

// `smimegatectl queue` on a running egress: every call runs on its loop.
class EgressQueueAdmin final : public mailqueue::Admin {
 public:
  explicit EgressQueueAdmin(EgressService::Impl& impl) : impl_(impl) {}
  Result<std::vector<mailqueue::Entry>> List() override {
    return impl_.OnLoop<std::vector<mailqueue::Entry>>(
        [this]() -> Result<std::vector<mailqueue::Entry>> { return impl_.QueueEntries(""); });
  }
  Result<std::vector<mailqueue::Entry>> Show(const std::string& message_id) override {
    return impl_.OnLoop<std::vector<mailqueue::Entry>>(
        [this, message_id]() -> Result<std::vector<mailqueue::Entry>> {
          auto out = impl_.QueueEntries(message_id);
          if (out.empty()) return MakeError(ErrorCode::kNotFound, "no message " + message_id + " in the queue");
          return out;
        });
  }
  Result<uint32_t> Hold(const std::string& message_id, const std::string& who) override {
    return impl_.OnLoop<uint32_t>([this, message_id, who] { return impl_.QueueHold(message_id, who); });
  }
  Result<uint32_t> Release(const std::string& message_id) override {
    return impl_.OnLoop<uint32_t>([this, message_id] { return impl_.QueueRelease(message_id); });
  }
  Result<uint32_t> Delete(const std::string& message_id, const std::string& who) override {
    return impl_.OnLoop<uint32_t>([this, message_id, who] { return impl_.QueueDelete(message_id, who); });
  }
  Result<uint32_t> Retry(const std::string& domain) override {
    return impl_.OnLoop<uint32_t>([this, domain]() -> Result<uint32_t> {
      const uint32_t n = impl_.deferred_.MakeDue(domain, impl_.clock_->NowMs());
      impl_.StartDueRetries();
      return n;
    });
  }

 private:
  EgressService::Impl& impl_;
};

EgressService::EgressService(EgressConfig config, queue::Queue& queue, metrics::Registry& registry,
                             std::string topic_prefix, EgressDeps deps)
    : impl_(std::make_unique<Impl>(std::move(config), queue, registry, std::move(topic_prefix),
                                   std::move(deps))),
      queue_admin_(std::make_unique<EgressQueueAdmin>(*impl_)) {}

EgressService::~EgressService() { Stop(); }

Status EgressService::Start() { return impl_->Start(ready_); }

void EgressService::RequestStop() {
  ready_ = false;
  impl_->RequestStop();
}

size_t EgressService::ReplaceTenantRoutes(const TenantRoutes& routes) {
  return impl_->ReplaceTenantRoutes(routes);
}

void EgressService::Stop() {
  ready_ = false;
  impl_->Stop();
}

}  // namespace sg::egress
