// bench/portal intake: the portal's store + notify rate against a plain
// relay of the same records through the same (synced) queue.
#include <atomic>
#include <chrono>
#include <future>
#include <sstream>
#include <thread>

#include "bench/portal/portal_bench_scenarios.h"
#include "portal/portal_store.h"

namespace sg::portal::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Waits until `topic` holds `n` records (or 10 minutes pass).
bool WaitForEnd(BenchStage& stage, const std::string& topic, int64_t n) {
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  while (stage.EndOffset(topic) < n) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// The baseline: consume relay-in, produce one notification-sized record per
// record to relay-out (acks awaited per batch, as the intake does), commit.
void Relay(BenchStage& stage, const std::string& group, size_t records,
           std::atomic<bool>& stop) {
  auto consumer = stage.queue().CreateConsumer(group, {"relay-in"});
  auto producer = stage.queue().CreateProducer();
  if (!consumer.ok() || !producer.ok()) return;
  const std::string note(3000, 'n');  // about a notification mail's size
  size_t done = 0;
  while (!stop && done < records) {
    auto batch = (*consumer)->Poll(16, std::chrono::milliseconds(50));
    if (!batch.ok() || batch->empty()) continue;
    std::vector<std::future<Status>> acks;
    for (const auto& r : *batch) {
      auto ack = std::make_shared<std::promise<Status>>();
      acks.push_back(ack->get_future());
      (*producer)->Produce({"relay-out", r.key, {}, note, 0},
                           [ack](Status s) { ack->set_value(std::move(s)); });
    }
    bool acked = true;
    for (auto& a : acks) acked = a.get().ok() && acked;
    if (!acked || !(*consumer)->Commit({"relay-in", 0}, batch->back().offset + 1).ok()) break;
    done += batch->size();
  }
  (*consumer)->Close();
}

}  // namespace

IntakeResult RunIntake(BenchStage& stage, size_t records, size_t message_bytes, int rep) {
  IntakeResult out;
  out.records = records;
  std::vector<std::string> values;
  const std::string tag = "rep" + std::to_string(rep) + "-";
  for (size_t i = 0; i < records; ++i) {
    const std::string rcpt = "intake" + std::to_string(i % 50) + "@partner.example";
    values.push_back(BenchRecord(tag + std::to_string(i), rcpt,
                                 BenchMessage(rcpt, tag + std::to_string(i), message_bytes)));
  }
  // Baseline: the relay, on the same queue, while the portal is idle.
  const int64_t relay_base = stage.EndOffset("relay-out");
  std::atomic<bool> stop{false};
  std::thread relay([&] { Relay(stage, "relay-" + tag, records, stop); });
  auto t0 = Clock::now();
  Status produced = stage.ProduceAll("relay-in", values);
  const bool relayed = produced.ok() && WaitForEnd(stage, "relay-out", relay_base + static_cast<int64_t>(records));
  out.relay_seconds = Since(t0);
  stop = true;
  relay.join();
  if (!relayed) {
    out.problem = "relay baseline did not finish: " +
                  (produced.ok() ? std::string("timeout") : produced.error().ToString());
    return out;
  }
  // The portal: the same records on its topic, until every notification is
  // in the deliver topic.
  const int64_t deliver_base = stage.EndOffset("deliver");
  t0 = Clock::now();
  produced = stage.ProduceAll("portal", values);
  const bool notified = produced.ok() && WaitForEnd(stage, "deliver", deliver_base + static_cast<int64_t>(records));
  out.portal_seconds = Since(t0);
  if (!notified) {
    out.problem = "portal intake did not finish: " +
                  (produced.ok() ? std::string("timeout") : produced.error().ToString());
    return out;
  }
  // Exactly once: the store holds one message per record of this rep.
  size_t stored = 0;
  for (size_t r = 0; r < 50 && r < records; ++r) {
    auto list = stage.service().store().ListMessages("intake" + std::to_string(r) +
                                                         "@partner.example",
                                                     "", 100000);
    if (!list.ok()) continue;
    for (const auto& m : *list) stored += m.queue_message_id().rfind(tag, 0) == 0 ? 1 : 0;
  }
  out.exact = stored == records && stage.EndOffset("deliver") == deliver_base + int64_t(records);
  if (!out.exact) {
    std::ostringstream why;
    why << "stored " << stored << " of " << records << ", notifications "
        << stage.EndOffset("deliver") - deliver_base;
    out.problem = why.str();
  }
  return out;
}

}  // namespace sg::portal::bench
