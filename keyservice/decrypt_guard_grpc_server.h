// The gRPC service smimegate.keyservice.v1.DecryptGuard
// (proto/decrypt_guard.proto) over a DecryptFailureGuard. Pure translation.
// Methods (role `worker`): ObserveContentKey, PermitFailureDsn.
//
// Threading: gRPC's synchronous server calls these from its thread pool; the
// guard is thread-safe, borrowed, and outlives the service.
#pragma once

#include "common/decrypt_guard.h"
#include "proto/decrypt_guard.grpc.pb.h"

namespace sg::keyservice {

class DecryptGuardGrpc final : public ::smimegate::keyservice::v1::DecryptGuard::Service {
 public:
  explicit DecryptGuardGrpc(DecryptFailureGuard& guard) : guard_(guard) {}
  grpc::Status ObserveContentKey(grpc::ServerContext*,
                                 const ::smimegate::keyservice::v1::ContentKeySighting*,
                                 ::smimegate::keyservice::v1::ContentKeyVerdictResponse*) override;
  grpc::Status PermitFailureDsn(grpc::ServerContext*,
                                const ::smimegate::keyservice::v1::FailureDsnRequest*,
                                ::smimegate::keyservice::v1::DsnPermissionResponse*) override;

 private:
  DecryptFailureGuard& guard_;
};

}  // namespace sg::keyservice
