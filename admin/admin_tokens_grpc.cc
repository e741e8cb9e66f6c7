#include "admin/admin_tokens_grpc.h"

#include <grpcpp/grpcpp.h>

#include "keyservice/keyservice_grpc_status.h"

namespace sg::admin {
namespace pb = smimegate::admin::v1;
using keyservice::ToGrpc;
using keyservice::UnaryCall;

namespace {

void ToPb(const TokenInfo& t, pb::AdminTokenInfo* out) {
  out->set_id(t.id);
  out->set_scope(t.scope.ToString());
  out->set_name(t.name);
  out->set_created_at(t.created_at);
  out->set_revoked_at(t.revoked_at);
  out->set_expires_at(t.expires_at);
}

Result<TokenInfo> FromPb(const pb::AdminTokenInfo& p) {
  TokenInfo t;
  t.id = p.id();
  SG_ASSIGN_OR_RETURN(t.scope, ParseScope(p.scope()));
  t.name = p.name();
  t.created_at = p.created_at();
  t.revoked_at = p.revoked_at();
  t.expires_at = p.expires_at();
  return t;
}

}  // namespace

grpc::Status AdminTokensGrpc::TokenAdd(grpc::ServerContext*, const pb::TokenAddRequest* req,
                                       pb::TokenAddResponse* resp) {
  auto added = tokens_.Add(req->scope(), req->name(), req->expires_at());
  if (!added.ok()) return ToGrpc(added.error());
  resp->set_token(added->token);
  ToPb(added->info, resp->mutable_info());
  return grpc::Status::OK;
}

grpc::Status AdminTokensGrpc::TokenList(grpc::ServerContext*, const pb::TokenListRequest*,
                                        pb::TokenListResponse* resp) {
  auto list = tokens_.List();
  if (!list.ok()) return ToGrpc(list.error());
  for (const auto& t : *list) ToPb(t, resp->add_tokens());
  return grpc::Status::OK;
}

grpc::Status AdminTokensGrpc::TokenRevoke(grpc::ServerContext*, const pb::TokenRevokeRequest* req,
                                          pb::TokenRevokeResponse*) {
  auto st = tokens_.Revoke(req->id());
  if (!st.ok()) return ToGrpc(st.error());
  return grpc::Status::OK;
}

AdminTokensClient::AdminTokensClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                                     std::chrono::milliseconds timeout)
    : stub_(pb::AdminTokens::NewStub(std::move(channel))),
      endpoint_(std::move(endpoint)),
      timeout_(timeout) {}

Result<NewToken> AdminTokensClient::Add(const std::string& scope, const std::string& name,
                                        int64_t expires_at) {
  pb::TokenAddRequest req;
  req.set_scope(scope);
  req.set_name(name);
  req.set_expires_at(expires_at);
  pb::TokenAddResponse resp;
  SG_RETURN_IF_ERROR(
      UnaryCall(&pb::AdminTokens::Stub::TokenAdd, *stub_, req, &resp, timeout_, endpoint_, false));
  NewToken out;
  out.token = resp.token();
  SG_ASSIGN_OR_RETURN(out.info, FromPb(resp.info()));
  return out;
}

Result<std::vector<TokenInfo>> AdminTokensClient::List() {
  pb::TokenListRequest req;
  pb::TokenListResponse resp;
  SG_RETURN_IF_ERROR(
      UnaryCall(&pb::AdminTokens::Stub::TokenList, *stub_, req, &resp, timeout_, endpoint_, false));
  std::vector<TokenInfo> out;
  for (const auto& t : resp.tokens()) {
    SG_ASSIGN_OR_RETURN(auto info, FromPb(t));
    out.push_back(std::move(info));
  }
  return out;
}

Status AdminTokensClient::Revoke(const std::string& id) {
  pb::TokenRevokeRequest req;
  req.set_id(id);
  pb::TokenRevokeResponse resp;
  return UnaryCall(&pb::AdminTokens::Stub::TokenRevoke, *stub_, req, &resp, timeout_, endpoint_,
                   false);
}

}  // namespace sg::admin
