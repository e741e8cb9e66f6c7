#include "admin/admin_portal.h"

#include <grpcpp/grpcpp.h>

namespace sg::admin {
namespace {

// The portal's own errors keep their code; everything that says "the
// portal is not there for us" is kUnavailable (503), naming the endpoint.
Error FromPortal(const grpc::Status& s, const std::string& endpoint) {
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return MakeError(ErrorCode::kInvalidArgument, s.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return MakeError(ErrorCode::kNotFound, s.error_message());
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return MakeError(ErrorCode::kUnavailable,
                       "the portal's admin API at " + endpoint + " is unreachable (" +
                           s.error_message() +
                           "); fix: is the portal running, and (distributed mode) do "
                           "keyservice.admin_api.portal.endpoint and its tls files match the "
                           "portal's portal.admin.listen and credentials?");
    default:
      return MakeError(ErrorCode::kInternal, "portal at " + endpoint + ": " + s.error_message());
  }
}

template <typename Resp, typename Req, typename Method>
Result<Resp> Call(Method method, portalpb::PortalAdmin::Stub& stub, const Req& req,
                  std::chrono::milliseconds timeout, const std::string& endpoint) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  Resp resp;
  grpc::Status s = (stub.*method)(&ctx, req, &resp);
  if (!s.ok()) return FromPortal(s, endpoint);
  return resp;
}

}  // namespace

PortalAdminClient::PortalAdminClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                                     std::chrono::milliseconds timeout)
    : channel_(std::move(channel)),
      stub_(portalpb::PortalAdmin::NewStub(channel_)),
      endpoint_(std::move(endpoint)),
      timeout_(timeout) {}

Result<portalpb::ListResponse> PortalAdminClient::List(const portalpb::ListRequest& request) {
  return Call<portalpb::ListResponse>(&portalpb::PortalAdmin::Stub::List, *stub_, request, timeout_,
                                      endpoint_);
}

Result<portalpb::PurgeResponse> PortalAdminClient::Purge(const portalpb::PurgeRequest& request) {
  return Call<portalpb::PurgeResponse>(&portalpb::PortalAdmin::Stub::Purge, *stub_, request,
                                       timeout_, endpoint_);
}

Result<portalpb::ResendLinkResponse> PortalAdminClient::ResendLink(
    const portalpb::ResendLinkRequest& request) {
  return Call<portalpb::ResendLinkResponse>(&portalpb::PortalAdmin::Stub::ResendLink, *stub_,
                                            request, timeout_, endpoint_);
}

Result<portalpb::AccountInfo> PortalAdminClient::AccountShow(
    const portalpb::AccountRequest& request) {
  return Call<portalpb::AccountInfo>(&portalpb::PortalAdmin::Stub::AccountShow, *stub_, request,
                                     timeout_, endpoint_);
}

Result<portalpb::AccountInfo> PortalAdminClient::AccountLogout(
    const portalpb::AccountRequest& request) {
  return Call<portalpb::AccountInfo>(&portalpb::PortalAdmin::Stub::AccountLogout, *stub_, request,
                                     timeout_, endpoint_);
}

Result<portalpb::AccountInfo> PortalAdminClient::AccountUnlock(
    const portalpb::AccountRequest& request) {
  return Call<portalpb::AccountInfo>(&portalpb::PortalAdmin::Stub::AccountUnlock, *stub_, request,
                                     timeout_, endpoint_);
}

}  // namespace sg::admin
