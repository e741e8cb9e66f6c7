// The Directory gRPC service (proto/directory.proto) over DirectoryService:
//   /smimegate.keyservice.v1.Directory/DirectorySync
//   /smimegate.keyservice.v1.Directory/DirectoryStatus
// served by KeyServiceServer on its gRPC server, admin role only (no role
// rules), every call audited like the other admin calls. Errors map
// one-to-one (keyservice_grpc_status.h).
//
// Threading: thread-safe. Ownership: borrows the service.
#pragma once

#include "keyservice/directory_service.h"
#include "proto/directory.grpc.pb.h"

namespace sg::keyservice {

class DirectoryGrpc final : public smimegate::keyservice::v1::Directory::Service {
 public:
  explicit DirectoryGrpc(DirectoryService& service) : service_(service) {}

  grpc::Status DirectorySync(grpc::ServerContext*,
                             const smimegate::keyservice::v1::DirectorySyncRequest*,
                             smimegate::keyservice::v1::DirectorySyncResponse*) override;
  grpc::Status DirectoryStatus(grpc::ServerContext*,
                               const smimegate::keyservice::v1::DirectoryStatusRequest*,
                               smimegate::keyservice::v1::DirectoryStatusResponse*) override;

 private:
  DirectoryService& service_;
};

}  // namespace sg::keyservice
