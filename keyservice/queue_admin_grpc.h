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
// QueueAdminClient is the same deadletter::Admin over a channel, for
// smimegatectl; errors map one-to-one (keyservice_grpc_status.h).
//
// Threading: both thread-safe. Ownership: the service borrows its Admin.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/deadletter_admin.h"
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

 private:
  deadletter::Admin& admin_;
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
