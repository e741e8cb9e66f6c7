#include "portal/portal_outbox.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace sg::portal {
namespace {

// Shared with the produce callbacks: a callback may run after the caller
// gave up waiting, and must find live memory.
struct Acks {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Status>> status;
  size_t pending = 0;
};

}  // namespace

std::vector<Status> Outbox::DeliverAll(const std::vector<smimegate::v1::MessageRecord>& records) {
  std::vector<Status> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back(Deliver(r));
  return out;
}

std::vector<Status> QueueOutbox::Produce(const std::string& topic,
                                         const std::vector<smimegate::v1::MessageRecord>& records) {
  auto acks = std::make_shared<Acks>();
  acks->status.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    queue::OutRecord out;
    out.topic = topic;
    out.key = records[i].envelope().message_id();
    if (!records[i].SerializeToString(&out.value)) {
      acks->status[i] = MakeError(ErrorCode::kInternal, "portal: record cannot be serialised");
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(acks->mu);
      ++acks->pending;
    }
    producer_.Produce(std::move(out), [acks, i](Status s) {
      std::lock_guard<std::mutex> lock(acks->mu);
      acks->status[i] = std::move(s);
      --acks->pending;
      acks->cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(acks->mu);
  acks->cv.wait_for(lock, timeout_, [&] { return acks->pending == 0; });
  std::vector<Status> result;
  result.reserve(records.size());
  for (auto& s : acks->status) {
    result.push_back(s.has_value() ? *s
                                   : MakeError(ErrorCode::kTimeout, "portal: the queue did not "
                                                                    "confirm " + topic + " in time"));
  }
  return result;
}

Status QueueOutbox::Deliver(const smimegate::v1::MessageRecord& record) {
  return Produce(deliver_topic_, {record}).at(0);
}

std::vector<Status> QueueOutbox::DeliverAll(
    const std::vector<smimegate::v1::MessageRecord>& records) {
  return Produce(deliver_topic_, records);
}

Status QueueOutbox::Reply(const smimegate::v1::MessageRecord& record) {
  return Produce(reply_topic_, {record}).at(0);
}

}  // namespace sg::portal
