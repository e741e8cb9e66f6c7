// The QueueAdmin gRPC service (proto/queue_admin.proto) and its client:
// dead-letter administration of a running gateway (common/deadletter_admin.h).
//
// The service is served on the gateway's gRPC server, next to the keyservice
// API (KeyServiceServer::AddService), by `smimegate run`, whose embedded
// queue no other process can open. Its methods are for the admin role only:
//   /smimegate.v1.QueueAdmin/ListDeadLetters
//   /smimegate.v1.QueueAdmin/ShowDeadLetter
//   /smimegate.v1.QueueAdmin/ReplayDeadLetter
//   /smimegate.v1.QueueAdmin/PurgeDeadLetters
// and the mail queue of the egress in the same process (`smimegatectl
// queue`, common/mail_queue.h; queue_admin_mail_grpc.cc):
//   /smimegate.v1.QueueAdmin/QueueList, QueueShow, QueueHold, QueueRelease,
//   QueueDelete, QueueRetry
// Every admin call is audited by the server (rpc_audit.h): who (the admin
// certificate's subject), the method and the message id or domain.
// QueueAdminClient is the same deadletter::Admin over a channel, for
// smimegatectl; errors map one-to-one (keyservice_grpc_status.h).
//
// Threading: both thread-safe. Ownership: the service borrows its Admin.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/deadletter_admin.h"
#include "common/mail_queue.h"
#include "proto/queue_admin.grpc.pb.h"

namespace sg::keyservice {

class QueueAdminGrpc final : public smimegate::v1::QueueAdmin::Service {
 public:
  explicit QueueAdminGrpc(deadletter::Admin& admin) : admin_(admin) {}

  grpc::Status ListDeadLetters(grpc::ServerContext*, const smimegate::v1::ListDeadLettersRequest*,
                               smimegate::v1::ListDeadLettersResponse*) override;
  grpc::Status ShowDeadLetter(grpc::ServerContext*, const smimegate::v1::ShowDeadLetterRequest*,
                              smimegate::v1::DeadLetterEntry*) override;
  grpc::Status ReplayDeadLetter(grpc::ServerContext*, const smimegate::v1::ReplayDeadLetterRequest*,
                                smimegate::v1::ReplayDeadLetterResponse*) override;
  grpc::Status PurgeDeadLetters(grpc::ServerContext*, const smimegate::v1::PurgeDeadLettersRequest*,
                                smimegate::v1::PurgeDeadLettersResponse*) override;

  // The egress's queue (borrowed; null: none in this process, the Queue*
  // calls fail with FAILED_PRECONDITION). Set once egress exists, cleared
  // before it goes.
  void SetMailQueue(mailqueue::Admin* queue) { mail_queue_.store(queue); }

  grpc::Status QueueList(grpc::ServerContext*, const smimegate::v1::QueueListRequest*,
                         smimegate::v1::QueueListResponse*) override;
  grpc::Status QueueShow(grpc::ServerContext*, const smimegate::v1::QueueMessageRequest*,
                         smimegate::v1::QueueListResponse*) override;
  grpc::Status QueueHold(grpc::ServerContext*, const smimegate::v1::QueueMessageRequest*,
                         smimegate::v1::QueueChangeResponse*) override;
  grpc::Status QueueRelease(grpc::ServerContext*, const smimegate::v1::QueueMessageRequest*,
                            smimegate::v1::QueueChangeResponse*) override;
  grpc::Status QueueDelete(grpc::ServerContext*, const smimegate::v1::QueueMessageRequest*,
                           smimegate::v1::QueueChangeResponse*) override;
  grpc::Status QueueRetry(grpc::ServerContext*, const smimegate::v1::QueueRetryRequest*,
                          smimegate::v1::QueueChangeResponse*) override;

 private:
  deadletter::Admin& admin_;
  std::atomic<mailqueue::Admin*> mail_queue_{nullptr};
};

// The mail queue of a running gateway over a channel (`smimegatectl queue`).
class MailQueueClient final : public mailqueue::Admin {
 public:
  MailQueueClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                  std::chrono::milliseconds timeout);
  Result<std::vector<mailqueue::Entry>> List() override;
  Result<std::vector<mailqueue::Entry>> Show(const std::string& message_id) override;
  // `who` is not sent: the server names the caller by its certificate.
  Result<uint32_t> Hold(const std::string& message_id, const std::string& who) override;
  Result<uint32_t> Release(const std::string& message_id) override;
  Result<uint32_t> Delete(const std::string& message_id, const std::string& who) override;
  Result<uint32_t> Retry(const std::string& domain) override;

 private:
  std::unique_ptr<smimegate::v1::QueueAdmin::Stub> stub_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
};

class QueueAdminClient final : public deadletter::Admin {
 public:
  // `endpoint` names the server in errors; every call has `timeout`.
  QueueAdminClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                   std::chrono::milliseconds timeout);

  Result<deadletter::ListResult> List(const deadletter::ListOptions& options) override;
  Result<deadletter::Entry> Show(const deadletter::Id& id) override;
  Result<std::string> Replay(const deadletter::Id& id) override;
  Result<uint64_t> Purge(const deadletter::PurgeRequest& request) override;

 private:

  std::unique_ptr<smimegate::v1::QueueAdmin::Stub> stub_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sg::keyservice
