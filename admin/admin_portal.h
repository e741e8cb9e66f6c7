// PortalAdminApi: the web-encryption portal's admin (proto/portal.proto,
// service PortalAdmin) as the admin REST API's /v1/portal routes use it
// (admin_handlers_portal.cc, docs/admin-api.md "Portal").
//
// PortalAdminClient is the one implementation: a gRPC stub on a channel the
// keyservice stage builds (cmd/smimegate/app.cc):
//   `smimegate run`         unix:<portal.admin_socket> of the portal in the
//                           same process (no network, no credentials: the
//                           socket's mode is the authentication);
//   the distributed mode    keyservice.admin_api.portal.endpoint, the
//                           portal pod's portal.admin.listen, over mutual TLS
//                           with admin credentials.
// Tests use a fake.
//
// Errors: the portal's answers keep their meaning (kInvalidArgument,
// kNotFound); a portal that does not answer, refuses the credentials or
// times out is kUnavailable naming the endpoint (the REST API answers 503).
//
// Threading: thread-safe (gRPC stubs are). Ownership: the client owns its
// channel.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"
#include "proto/portal.grpc.pb.h"

namespace grpc {
class Channel;
}

namespace sg::admin {

namespace portalpb = smimegate::portal::v1;

class PortalAdminApi {
 public:
  virtual ~PortalAdminApi() = default;
  virtual Result<portalpb::ListResponse> List(const portalpb::ListRequest& request) = 0;
  virtual Result<portalpb::PurgeResponse> Purge(const portalpb::PurgeRequest& request) = 0;
  virtual Result<portalpb::ResendLinkResponse> ResendLink(
      const portalpb::ResendLinkRequest& request) = 0;
  // A recipient's account (kNotFound: no account and no message within
  // request.sender_domains), ending its sessions, lifting its login lock.
  virtual Result<portalpb::AccountInfo> AccountShow(const portalpb::AccountRequest& request) = 0;
  virtual Result<portalpb::AccountInfo> AccountLogout(const portalpb::AccountRequest& request) = 0;
  virtual Result<portalpb::AccountInfo> AccountUnlock(const portalpb::AccountRequest& request) = 0;
};

class PortalAdminClient final : public PortalAdminApi {
 public:
  // `endpoint` names the portal in errors ("unix:/var/lib/smimegate/run/portal.sock").
  PortalAdminClient(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

  Result<portalpb::ListResponse> List(const portalpb::ListRequest& request) override;
  Result<portalpb::PurgeResponse> Purge(const portalpb::PurgeRequest& request) override;
  Result<portalpb::ResendLinkResponse> ResendLink(
      const portalpb::ResendLinkRequest& request) override;
  Result<portalpb::AccountInfo> AccountShow(const portalpb::AccountRequest& request) override;
  Result<portalpb::AccountInfo> AccountLogout(const portalpb::AccountRequest& request) override;
  Result<portalpb::AccountInfo> AccountUnlock(const portalpb::AccountRequest& request) override;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<portalpb::PortalAdmin::Stub> stub_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sg::admin
