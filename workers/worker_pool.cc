#include "workers/worker_pool.h"
#include "common/thread_name.h"

#include <spdlog/spdlog.h>

#include <future>
#include <map>
#include <mutex>

#include "common/topics.h"

namespace sg::workers {

namespace {
using namespace std::chrono_literals;

struct AckWaiter {
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;
  bool failed = false;
  std::string error;

  queue::ProduceCallback Add() {
    std::lock_guard<std::mutex> lock(mu);
    ++pending;
    return [this](Status s) {
      std::lock_guard<std::mutex> l(mu);
      if (!s.ok()) {
        failed = true;
        error = s.error().ToString();
      }
      --pending;
      cv.notify_all();
    };
  }
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [this] { return pending == 0; }) && !failed;
  }
};

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
                       metrics::Registry& registry)
    : config_(std::move(config)),
      inbound_topic_(queue_config.Topic(topics::kInbound)),
      outbound_topic_(queue_config.Topic(topics::kOutbound)),
      deliver_topic_(queue_config.Topic(topics::kDeliver)),
      deadletter_topic_(queue_config.Topic(topics::kDeadLetter)),
      queue_(queue),
      processor_(processor),
      metrics_(registry) {}

WorkerPool::~WorkerPool() { Stop(); }

Status WorkerPool::Start() {
  int n = config_.threads > 0 ? config_.threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    auto m = std::make_unique<Member>();
    SG_ASSIGN_OR_RETURN(m->consumer,
                        queue_.CreateConsumer(config_.group, {inbound_topic_, outbound_topic_}));
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
  spdlog::info("workers: {} threads consuming {} and {}", n, inbound_topic_, outbound_topic_);
  return OkStatus();
}

void WorkerPool::Stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(lag_mu_);
  }
  lag_cv_.notify_all();
  if (lag_thread_.joinable()) lag_thread_.join();
  for (auto& m : members_) {
    if (m->consumer) m->consumer->Wakeup();
  }
  for (auto& m : members_) {
    if (m->thread.joinable()) m->thread.join();
    if (m->consumer) m->consumer->Close();
  }
  running_ = false;
}

void WorkerPool::ReportLag() {
  std::unique_lock<std::mutex> lock(lag_mu_);
  while (!stopping_.load()) {
    if (!members_.empty() && members_[0]->consumer) {
      lock.unlock();
      auto lag = members_[0]->consumer->Lag();
      lock.lock();
      if (lag.ok()) {
        for (const auto& l : *lag) {
          metrics_.lag.WithLabels({config_.group, l.tp.topic, std::to_string(l.tp.partition)})
              .Set(static_cast<double>(l.lag()));
        }
      }
    }
    lag_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_.load(); });
  }
}

void WorkerPool::Run(Member& m) {
  std::chrono::milliseconds backoff = 250ms;
  while (!stopping_.load()) {
    auto polled = m.consumer->Poll(static_cast<size_t>(config_.max_batch), 500ms);
    if (!polled.ok()) {
      if (polled.error().code == ErrorCode::kCancelled) return;
      spdlog::warn("workers: poll failed: {}", polled.error().ToString());
      std::this_thread::sleep_for(200ms);
      continue;
    }
    if (polled->empty()) continue;
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

size_t WorkerPool::ProcessBatch(Member& m, std::vector<queue::Record>& batch) {
  AckWaiter acks;
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  size_t done = 0;
  for (auto& rec : batch) {
    auto started = std::chrono::steady_clock::now();
    smimegate::v1::MessageRecord msg;
    auto dead_letter = [&](const std::string& reason) {
      spdlog::error("workers: {}/{}@{} key={} dead-lettered: {}", rec.topic, rec.partition,
                    rec.offset, rec.key, reason);
      queue::OutRecord out;
      out.topic = deadletter_topic_;
      out.key = rec.key;
      out.value = rec.value;
      out.headers = rec.headers;
      out.headers.push_back({"sg-reason", reason});
      out.headers.push_back({"sg-source-topic", rec.topic});
      m.producer->Produce(std::move(out), acks.Add());
      metrics_.dead_lettered.Inc();
    };
    if (!msg.ParseFromString(rec.value)) {
      dead_letter("record is not a valid MessageRecord");
    } else {
      auto result = processor_.Process(std::move(msg));
      if (result.ok()) {
        for (auto& o : *result) {
          queue::OutRecord out;
          out.topic = deliver_topic_;
          out.key = rec.key;
          if (!o.SerializeToString(&out.value)) {
            dead_letter("processed record cannot be serialised");
            continue;
          }
          m.producer->Produce(std::move(out), acks.Add());
          metrics_.outputs.Inc();
        }
        metrics_.processed.Inc();
      } else if (result.error().code == ErrorCode::kUnavailable ||
                 result.error().code == ErrorCode::kTimeout) {
        // A dependency (the keyservice) is down: stop here, keep the order.
        spdlog::warn("workers: {} waits: {}", rec.key, result.error().ToString());
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
        spdlog::warn("workers: {} failed ({}), attempt {} of {}", rec.key,
                     result.error().ToString(), AttemptOf(rec) + 1, config_.max_attempts);
        m.producer->Produce(std::move(out), acks.Add());
        metrics_.retried.Inc();
      } else {
        dead_letter(result.error().ToString());
      }
    }
    metrics_.process_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    auto& n = next[{rec.topic, rec.partition}];
    n = std::max(n, rec.offset + 1);
    ++done;
  }
  if (!acks.Wait(60s)) {
    spdlog::warn("workers: publishing a batch failed ({}); it will be read again", acks.error);
    return 0;
  }
  // Commit what is finished. Records of one partition come in offset order,
  // so the finished ones form a prefix of each partition.
  for (const auto& [tp, off] : next) {
    auto s = m.consumer->Commit({tp.first, tp.second}, off);
    if (!s.ok() && s.error().code != ErrorCode::kPermissionDenied) {
      spdlog::warn("workers: commit failed: {}", s.error().ToString());
    }
  }
  return done;
}

}  // namespace sg::workers
