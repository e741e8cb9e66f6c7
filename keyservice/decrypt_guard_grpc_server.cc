#include "keyservice/decrypt_guard_grpc_server.h"

#include "keyservice/keyservice_grpc_status.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

grpc::Status DecryptGuardGrpc::ObserveContentKey(grpc::ServerContext*,
                                                 const pb::ContentKeySighting* req,
                                                 pb::ContentKeyVerdictResponse* resp) {
  ContentKeySighting s;
  s.content_key_digest = req->content_key_digest();
  s.ciphertext_digest = req->ciphertext_digest();
  s.message_id = req->message_id();
  s.now_ms = req->now_ms();
  auto verdict = guard_.ObserveContentKey(s);
  if (!verdict.ok()) return ToGrpc(verdict.error());
  switch (*verdict) {
    case ContentKeyVerdict::kFirst: resp->set_verdict(pb::ContentKeyVerdictResponse::FIRST); break;
    case ContentKeyVerdict::kSame: resp->set_verdict(pb::ContentKeyVerdictResponse::SAME); break;
    case ContentKeyVerdict::kReplayed:
      resp->set_verdict(pb::ContentKeyVerdictResponse::REPLAYED);
      break;
  }
  return grpc::Status::OK;
}

grpc::Status DecryptGuardGrpc::PermitFailureDsn(grpc::ServerContext*,
                                                const pb::FailureDsnRequest* req,
                                                pb::DsnPermissionResponse* resp) {
  FailureDsnRequest r;
  r.sender = req->sender();
  r.key_digest = req->key_digest();
  r.message_id = req->message_id();
  r.now_ms = req->now_ms();
  auto permission = guard_.PermitFailureDsn(r);
  if (!permission.ok()) return ToGrpc(permission.error());
  switch (*permission) {
    case DsnPermission::kAllowed: resp->set_permission(pb::DsnPermissionResponse::ALLOWED); break;
    case DsnPermission::kAlreadySent:
      resp->set_permission(pb::DsnPermissionResponse::ALREADY_SENT);
      break;
    case DsnPermission::kRateLimited:
      resp->set_permission(pb::DsnPermissionResponse::RATE_LIMITED);
      break;
  }
  return grpc::Status::OK;
}

}  // namespace sg::keyservice
