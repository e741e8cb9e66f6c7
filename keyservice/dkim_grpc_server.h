// The gRPC service Dkim (proto/dkim.proto) over KeyServiceImpl: the
// workers' GetDkimKey and the admin's DKIM key management. Pure
// translation; who may call what is decided before (rpc_roles.cc), admin
// calls are audited by the server's interceptor (rpc_audit.h).
//
// Threading: called from gRPC's thread pool; the impl is thread-safe,
// borrowed, and outlives the service.
#pragma once

#include "keyservice/key_service_impl.h"
#include "proto/dkim.grpc.pb.h"

namespace sg::keyservice {

class DkimGrpc final : public ::smimegate::keyservice::v1::Dkim::Service {
 public:
  explicit DkimGrpc(KeyServiceImpl& impl) : impl_(impl) {}
  grpc::Status GetDkimKey(grpc::ServerContext*, const ::smimegate::keyservice::v1::DkimKeyRequest*,
                          ::smimegate::keyservice::v1::DkimKeyResponse*) override;
  grpc::Status DkimKeygen(grpc::ServerContext*,
                          const ::smimegate::keyservice::v1::DkimKeygenRequest*,
                          ::smimegate::keyservice::v1::DkimKeyInfo*) override;
  grpc::Status DkimList(grpc::ServerContext*, const ::smimegate::keyservice::v1::DkimListRequest*,
                        ::smimegate::keyservice::v1::DkimListResponse*) override;
  grpc::Status DkimActivate(grpc::ServerContext*,
                            const ::smimegate::keyservice::v1::DkimSelectorRequest*,
                            ::smimegate::keyservice::v1::DkimKeyInfo*) override;
  grpc::Status DkimRemove(grpc::ServerContext*,
                          const ::smimegate::keyservice::v1::DkimSelectorRequest*,
                          ::smimegate::keyservice::v1::DkimRemoveResponse*) override;

 private:
  KeyServiceImpl& impl_;
};

}  // namespace sg::keyservice
