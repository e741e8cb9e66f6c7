#include "portal/portal_outbox.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace sg::portal {
namespace {

// Shared with the produce callback: the callback may run after the caller
// gave up waiting, and must find live memory.
struct Ack {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> status;
};

}  // namespace

Status QueueOutbox::Produce(const std::string& topic, const smimegate::v1::MessageRecord& record) {
  queue::OutRecord out;
  out.topic = topic;
  out.key = record.envelope().message_id();
  if (!record.SerializeToString(&out.value)) {
    return MakeError(ErrorCode::kInternal, "portal: record cannot be serialised");
  }
  auto ack = std::make_shared<Ack>();
  producer_.Produce(std::move(out), [ack](Status s) {
    std::lock_guard<std::mutex> lock(ack->mu);
    ack->status = std::move(s);
    ack->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(ack->mu);
  if (!ack->cv.wait_for(lock, timeout_, [&] { return ack->status.has_value(); })) {
    return MakeError(ErrorCode::kTimeout, "portal: the queue did not confirm " + topic + " in time");
  }
  return *ack->status;
}

Status QueueOutbox::Deliver(const smimegate::v1::MessageRecord& record) {
  return Produce(deliver_topic_, record);
}

Status QueueOutbox::Reply(const smimegate::v1::MessageRecord& record) {
  return Produce(inbound_topic_, record);
}

}  // namespace sg::portal
