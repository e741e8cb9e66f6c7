// How the portal hands mail to the rest of the gateway, through the queue
// like every stage (DESIGN.md "Pipeline"):
//   - Deliver: a mail the portal wrote (notification, reset link,
//     registration code) onto the deliver topic: egress sends it, with its
//     retries, DSNs and duplicate suppression.
//   - Reply: a recipient's reply onto the portal-reply topic (marked origin
//     PORTAL; the workers treat everything on that topic as a portal reply
//     whatever it says, review R4): the workers encrypt it to the internal
//     recipients' certificates and hand it to egress for the internal mail
//     server.
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
#include <vector>

#include "common/queue.h"
#include "common/result.h"
#include "proto/envelope.pb.h"

namespace sg::portal {

class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual Status Deliver(const smimegate::v1::MessageRecord& record) = 0;
  // Several mails for the deliver topic, handed over together and awaited
  // together (the queue makes them durable in one sync where it can); one
  // status per record, in order. By default one Deliver after the other.
  virtual std::vector<Status> DeliverAll(const std::vector<smimegate::v1::MessageRecord>& records);
  virtual Status Reply(const smimegate::v1::MessageRecord& record) = 0;
};

class QueueOutbox : public Outbox {
 public:
  QueueOutbox(queue::Producer& producer, std::string deliver_topic, std::string reply_topic,
              std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : producer_(producer),
        deliver_topic_(std::move(deliver_topic)),
        reply_topic_(std::move(reply_topic)),
        timeout_(timeout) {}

  Status Deliver(const smimegate::v1::MessageRecord& record) override;
  std::vector<Status> DeliverAll(const std::vector<smimegate::v1::MessageRecord>& records) override;
  Status Reply(const smimegate::v1::MessageRecord& record) override;

 private:
  std::vector<Status> Produce(const std::string& topic,
                              const std::vector<smimegate::v1::MessageRecord>& records);

  queue::Producer& producer_;
  std::string deliver_topic_;
  std::string reply_topic_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sg::portal
