// How the portal hands mail to the rest of the gateway, through the queue
// like every stage (DESIGN.md "Pipeline"):
//   - Deliver: a mail the portal wrote (notification, reset link,
//     registration code) onto the deliver topic: egress sends it, with its
//     retries, DSNs and duplicate suppression.
//   - Reply: a recipient's reply onto the inbound topic with origin PORTAL:
//     the workers encrypt it to the internal recipients' certificates and
//     hand it to egress for the internal mail server.
// Both return only once the record is durable (or failed), so a caller
// that says "sent" or commits an offset afterwards is telling the truth.
//
// Errors: the queue's (kUnavailable, kTimeout, kResourceExhausted...):
// transient, nothing was accepted.
//
// Threading: thread-safe; calls block the calling thread (a web request or
// the intake loop) up to the timeout.
#pragma once

#include <chrono>
#include <string>

#include "common/queue.h"
#include "common/result.h"
#include "proto/envelope.pb.h"

namespace sg::portal {

class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual Status Deliver(const smimegate::v1::MessageRecord& record) = 0;
  virtual Status Reply(const smimegate::v1::MessageRecord& record) = 0;
};

class QueueOutbox : public Outbox {
 public:
  QueueOutbox(queue::Producer& producer, std::string deliver_topic, std::string inbound_topic,
              std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : producer_(producer),
        deliver_topic_(std::move(deliver_topic)),
        inbound_topic_(std::move(inbound_topic)),
        timeout_(timeout) {}

  Status Deliver(const smimegate::v1::MessageRecord& record) override;
  Status Reply(const smimegate::v1::MessageRecord& record) override;

 private:
  Status Produce(const std::string& topic, const smimegate::v1::MessageRecord& record);

  queue::Producer& producer_;
  std::string deliver_topic_;
  std::string inbound_topic_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sg::portal
