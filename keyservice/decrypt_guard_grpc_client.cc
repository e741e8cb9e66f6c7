#include "keyservice/decrypt_guard_grpc_client.h"

#include <grpcpp/grpcpp.h>

#include "keyservice/keyservice_grpc_status.h"
#include "proto/decrypt_guard.grpc.pb.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

struct DecryptGuardClient::Stub {
  std::unique_ptr<pb::DecryptGuard::Stub> stub;
};

DecryptGuardClient::DecryptGuardClient(std::shared_ptr<grpc::Channel> channel,
                                       std::string endpoint, std::chrono::milliseconds timeout)
    : stub_(std::make_unique<Stub>()), endpoint_(std::move(endpoint)), timeout_(timeout) {
  stub_->stub = pb::DecryptGuard::NewStub(std::move(channel));
}

DecryptGuardClient::~DecryptGuardClient() = default;

Result<ContentKeyVerdict> DecryptGuardClient::ObserveContentKey(const ContentKeySighting& s) {
  pb::ContentKeySighting req;
  req.set_content_key_digest(s.content_key_digest);
  req.set_ciphertext_digest(s.ciphertext_digest);
  req.set_message_id(s.message_id);
  req.set_now_ms(s.now_ms);
  pb::ContentKeyVerdictResponse resp;
  // wait_for_ready: a restarting keyservice is a short delay, not a failure.
  SG_RETURN_IF_ERROR(UnaryCall(&pb::DecryptGuard::Stub::ObserveContentKey, *stub_->stub, req,
                               &resp, timeout_, endpoint_, /*wait_for_ready=*/true));
  switch (resp.verdict()) {
    case pb::ContentKeyVerdictResponse::FIRST: return ContentKeyVerdict::kFirst;
    case pb::ContentKeyVerdictResponse::SAME: return ContentKeyVerdict::kSame;
    case pb::ContentKeyVerdictResponse::REPLAYED: return ContentKeyVerdict::kReplayed;
    default: break;
  }
  return MakeError(ErrorCode::kInternal, "decrypt guard at " + endpoint_ + ": no verdict");
}

Result<DsnPermission> DecryptGuardClient::PermitFailureDsn(const FailureDsnRequest& r) {
  pb::FailureDsnRequest req;
  req.set_sender(r.sender);
  req.set_key_digest(r.key_digest);
  req.set_message_id(r.message_id);
  req.set_now_ms(r.now_ms);
  pb::DsnPermissionResponse resp;
  SG_RETURN_IF_ERROR(UnaryCall(&pb::DecryptGuard::Stub::PermitFailureDsn, *stub_->stub, req, &resp,
                               timeout_, endpoint_, /*wait_for_ready=*/true));
  switch (resp.permission()) {
    case pb::DsnPermissionResponse::ALLOWED: return DsnPermission::kAllowed;
    case pb::DsnPermissionResponse::ALREADY_SENT: return DsnPermission::kAlreadySent;
    case pb::DsnPermissionResponse::RATE_LIMITED: return DsnPermission::kRateLimited;
    default: break;
  }
  return MakeError(ErrorCode::kInternal, "decrypt guard at " + endpoint_ + ": no permission");
}

}  // namespace sg::keyservice
