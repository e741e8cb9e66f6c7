// The gRPC side of usage counting (docs/usage.md): pure translation between
// proto/keyservice.proto and UsageAdmin.
#include "keyservice/keyservice_grpc_server.h"
#include "keyservice/keyservice_grpc_status.h"
#include "keyservice/usage_pb.h"

namespace sg::keyservice {

grpc::Status KeyAdminGrpc::UsageReport(grpc::ServerContext*, const pb::UsageReportRequest* req,
                                       pb::UsageReportResponse* resp) {
  auto r = impl_.GetUsageReport(req->month(), req->tenant(), req->reseller());
  if (!r.ok()) return ToGrpc(r.error());
  UsageReportToPb(*r, resp);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::UsageSetTotal(grpc::ServerContext*, const pb::UsageSetTotalRequest* req,
                                         pb::RemoveResponse*) {
  auto st = impl_.UsageSetTotal(req->domain(), req->total_users());
  return st.ok() ? grpc::Status::OK : ToGrpc(st.error());
}

grpc::Status KeyAdminGrpc::UsageSnapshot(grpc::ServerContext*, const pb::UsageSnapshotRequest*,
                                         pb::UsageSnapshotResponse* resp) {
  auto r = impl_.UsageSnapshot();
  if (!r.ok()) return ToGrpc(r.error());
  resp->set_taken(*r);
  return grpc::Status::OK;
}

grpc::Status KeyAdminGrpc::UsageRecordMessages(grpc::ServerContext*,
                                               const pb::UsageMessagesRequest* req,
                                               pb::RemoveResponse*) {
  auto st = impl_.UsageRecordMessages(UsageMessagesFromPb(*req));
  return st.ok() ? grpc::Status::OK : ToGrpc(st.error());
}

}  // namespace sg::keyservice
