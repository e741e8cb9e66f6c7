// The AdminTokens gRPC service (proto/admin_tokens.proto) and its client:
// `smimegatectl token add|list|revoke` against a running keyservice.
//
// The service is registered on the keyservice's gRPC server
// (KeyServiceServer::rpc().AddService) and has no role rule, so only the
// admin role may call it; the audit interceptor records every call (the
// request carries no secret; the new token is only in the answer).
// AdminTokensClient maps errors one-to-one (keyservice_grpc_status.h).
//
// Threading: both thread-safe. Ownership: the service borrows its store.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin_tokens.h"
#include "proto/admin_tokens.grpc.pb.h"

namespace sg::admin {

class AdminTokensGrpc final : public smimegate::admin::v1::AdminTokens::Service {
 public:
  explicit AdminTokensGrpc(AdminTokens& tokens) : tokens_(tokens) {}

  grpc::Status TokenAdd(grpc::ServerContext*, const smimegate::admin::v1::TokenAddRequest*,
                        smimegate::admin::v1::TokenAddResponse*) override;
  grpc::Status TokenList(grpc::ServerContext*, const smimegate::admin::v1::TokenListRequest*,
                         smimegate::admin::v1::TokenListResponse*) override;
  grpc::Status TokenRevoke(grpc::ServerContext*, const smimegate::admin::v1::TokenRevokeRequest*,
                           smimegate::admin::v1::TokenRevokeResponse*) override;

 private:
  AdminTokens& tokens_;
};

class AdminTokensClient {
 public:
  AdminTokensClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                    std::chrono::milliseconds timeout);

  Result<NewToken> Add(const std::string& scope, const std::string& name, int64_t expires_at = 0);
  Result<std::vector<TokenInfo>> List();
  Status Revoke(const std::string& id);

 private:
  std::unique_ptr<smimegate::admin::v1::AdminTokens::Stub> stub_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sg::admin
