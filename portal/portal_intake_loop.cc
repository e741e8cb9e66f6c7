#include "portal/portal_intake_loop.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <future>
#include <map>
#include <memory>

#include "common/thread_name.h"

namespace sg::portal {
namespace v1 = smimegate::v1;
using namespace std::chrono_literals;

void IntakeLoop::Run() {
  SetCurrentThreadName("sg-portal-in");
  std::chrono::milliseconds backoff = 250ms;
  while (!stopping_) {
    std::vector<queue::Record> batch;
    try {
      auto polled = consumer_.Poll(batch_, 500ms);
      if (!polled.ok()) {
        if (polled.error().code == ErrorCode::kCancelled) break;
        spdlog::warn("portal: poll failed: {}", polled.error().ToString());
        Pause(200ms);
        continue;
      }
      batch = std::move(*polled);
      if (batch.empty()) continue;
      const size_t done = HandleBatch(batch);
      if (done == batch.size()) {
        backoff = 250ms;
        continue;
      }
      // The store or the queue is down: read the rest again after a pause
      // that grows while the outage lasts.
      SeekBack(batch, done);
    } catch (const std::exception& e) {
      metrics_.intake_errors.Inc();
      spdlog::error("portal: intake loop: exception: {}", e.what());
      SeekBackQuietly(batch);
    } catch (...) {
      metrics_.intake_errors.Inc();
      spdlog::error("portal: intake loop: unknown exception");
      SeekBackQuietly(batch);
    }
    Pause(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 30s);
  }
  finished_ = true;
}

// After an exception: the whole batch is read again (the store keeps
// each message once, so what was finished changes nothing the second time).
void IntakeLoop::SeekBackQuietly(const std::vector<queue::Record>& batch) noexcept {
  try {
    SeekBack(batch, 0);
  } catch (...) {
    spdlog::error("portal: intake loop: seek after an exception failed");
  }
}

void IntakeLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  consumer_.Wakeup();
}

void IntakeLoop::Pause(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void IntakeLoop::SeekBack(const std::vector<queue::Record>& batch, size_t from) {
  std::map<std::pair<std::string, int32_t>, int64_t> first;
  for (size_t i = from; i < batch.size(); ++i) {
    first.try_emplace({batch[i].topic, batch[i].partition}, batch[i].offset);
  }
  for (const auto& [tp, off] : first) {
    if (auto s = consumer_.Seek({tp.first, tp.second}, off); !s.ok()) {
      spdlog::warn("portal: seek: {}", s.error().ToString());
    }
  }
}

IntakeLoop::Handler IntakeLoop::PerRecord(
    std::function<Status(const v1::MessageRecord&)> one) {
  return [one = std::move(one)](const std::vector<v1::MessageRecord>& records) {
    std::vector<IntakeOutcome> out(records.size());
    for (size_t i = 0; i < records.size(); ++i) out[i].status = one(records[i]);
    return out;
  };
}

size_t IntakeLoop::HandleBatch(const std::vector<queue::Record>& batch) {
  const std::vector<std::optional<IntakeOutcome>> outcomes = CallHandler(batch);
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  size_t done = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& rec = batch[i];
    // The first record that is not finished stops the batch, so every
    // partition's commit covers a finished prefix. (The ones after it were
    // handled too; read again, they change nothing.)
    if (Status s = Finish(rec, outcomes[i]); !s.ok()) {
      metrics_.intake_errors.Inc();
      spdlog::warn("portal: {} waits: {}", rec.key, s.error().ToString());
      break;
    }
    auto& n = next[{rec.topic, rec.partition}];
    n = std::max(n, rec.offset + 1);
    ++done;
  }
  for (const auto& [tp, off] : next) {
    auto s = consumer_.Commit({tp.first, tp.second}, off);
    if (!s.ok() && s.error().code != ErrorCode::kPermissionDenied) {
      spdlog::warn("portal: commit failed: {}", s.error().ToString());
    }
  }
  return done;
}

std::vector<std::optional<IntakeOutcome>> IntakeLoop::CallHandler(
    const std::vector<queue::Record>& batch) {
  std::vector<std::optional<IntakeOutcome>> out(batch.size());
  std::vector<v1::MessageRecord> records;
  std::vector<size_t> at;
  for (size_t i = 0; i < batch.size(); ++i) {
    v1::MessageRecord msg;
    if (!msg.ParseFromString(batch[i].value)) continue;
    records.push_back(std::move(msg));
    at.push_back(i);
  }
  std::vector<IntakeOutcome> outcomes = CallGuarded(records);
  if (outcomes.size() != records.size()) {
    // It threw (or broke its contract): one record at a time, so only the
    // record at fault gets the strike.
    outcomes.clear();
    for (const auto& r : records) {
      auto one = CallGuarded({r});
      outcomes.push_back(one.size() == 1 ? std::move(one[0]) : IntakeOutcome{});
      if (one.size() != 1) {
        outcomes.back().status = MakeError(ErrorCode::kUnavailable, "the intake failed");
      }
    }
  }
  for (size_t k = 0; k < at.size(); ++k) out[at[k]] = std::move(outcomes[k]);
  return out;
}

std::vector<IntakeOutcome> IntakeLoop::CallGuarded(const std::vector<v1::MessageRecord>& records) {
  std::string what;
  try {
    return handler_(records);
  } catch (const std::exception& e) {
    what = std::string("exception: ") + e.what();
  } catch (...) {
    what = "unknown exception";
  }
  metrics_.intake_errors.Inc();
  spdlog::error("portal: intake: {}", what);
  if (records.size() != 1) return {};
  std::vector<IntakeOutcome> out(1);
  out[0].status = MakeError(ErrorCode::kUnavailable, what);
  return out;
}

Status IntakeLoop::Finish(const queue::Record& rec, const std::optional<IntakeOutcome>& outcome) {
  if (!outcome) return DeadLetter(rec, "record is not a valid MessageRecord");
  if (!outcome->dead_letters.empty()) {
    SG_RETURN_IF_ERROR(Healthy(outcome->dead_letters.front().error));
    for (const auto& dead : outcome->dead_letters) {
      SG_RETURN_IF_ERROR(DeadLetterRecipient(rec, dead));
    }
  }
  if (!outcome->status.ok()) return Failed(rec, outcome->status);
  strikes_.erase({rec.topic, rec.partition});
  ready_ = true;
  return OkStatus();
}

Status IntakeLoop::Healthy(const Status& failure) {
  // An outage is no fault of the record: a missing deliver topic, say,
  // refuses every record with kNotFound.
  if (health_) {
    if (Status h = health_(); !h.ok()) {
      if (ready_.exchange(false)) {
        spdlog::error("portal: intake not ready: {}", h.error().ToString());
      }
      return MakeError(ErrorCode::kUnavailable,
                       "not ready: " + h.error().ToString() + " (" + failure.error().ToString() + ")");
    }
  }
  ready_ = true;
  return OkStatus();
}

Status IntakeLoop::Failed(const queue::Record& rec, const Status& failure) {
  const ErrorCode code = failure.error().code;
  if (code == ErrorCode::kCancelled) return failure;  // the queue is closing
  SG_RETURN_IF_ERROR(Healthy(failure));
  if (!IsTransient(code)) return DeadLetter(rec, failure.error().ToString());
  if (const int n = Strike(rec); n >= kMaxAttempts) {
    Status dead = DeadLetter(rec, failure.error().ToString() + " (failed " + std::to_string(n) +
                                      " times in a row)");
    if (dead.ok()) strikes_.erase({rec.topic, rec.partition});
    return dead;
  }
  return failure;
}

Status IntakeLoop::DeadLetterRecipient(const queue::Record& rec, const RecipientDeadLetter& dead) {
  std::string value;
  if (!dead.record.SerializeToString(&value)) {
    return MakeError(ErrorCode::kInternal, "a recipient's dead letter cannot be serialised");
  }
  const std::string rcpt =
      dead.record.envelope().recipients_size() > 0 ? dead.record.envelope().recipients(0).address()
                                                   : std::string();
  return DeadLetter(rec, "recipient <" + rcpt + ">: " + dead.error.ToString(), &value);
}

int IntakeLoop::Strike(const queue::Record& rec) {
  auto& [offset, count] = strikes_[{rec.topic, rec.partition}];
  if (offset != rec.offset || count == 0) {
    offset = rec.offset;
    count = 0;
  }
  return ++count;
}

Status IntakeLoop::DeadLetter(const queue::Record& rec, const std::string& reason,
                              const std::string* value) {
  spdlog::error("portal: {}/{}@{} key={} dead-lettered: {}", rec.topic, rec.partition, rec.offset,
                rec.key, reason);
  queue::OutRecord out;
  out.topic = deadletter_topic_;
  out.key = rec.key;
  out.value = value != nullptr ? *value : rec.value;
  out.headers = rec.headers;
  out.headers.push_back({"sg-reason", reason});
  out.headers.push_back({"sg-source-topic", rec.topic});
  auto ack = std::make_shared<std::promise<Status>>();
  auto confirmed = ack->get_future();
  producer_.Produce(std::move(out), [ack](Status s) { ack->set_value(std::move(s)); });
  if (confirmed.wait_for(30s) != std::future_status::ready) {
    return MakeError(ErrorCode::kTimeout, "the dead letter was not confirmed in 30 s");
  }
  Status s = confirmed.get();
  if (!s.ok()) {
    return MakeError(ErrorCode::kUnavailable, "the dead letter failed: " + s.error().ToString());
  }
  metrics_.dead_letters.Inc();
  return OkStatus();
}

}  // namespace sg::portal
