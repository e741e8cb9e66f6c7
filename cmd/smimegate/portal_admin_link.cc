#include "cmd/smimegate/portal_admin_link.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "keyservice/credentials_files.h"
#include "keyservice/rpc_channel.h"

namespace sg::app {

Result<std::unique_ptr<admin::PortalAdminApi>> ConnectPortalAdmin(
    const admin::AdminApiConfig::Portal& link, const std::string& local_socket) {
  if (!local_socket.empty()) {
    const std::string endpoint = "unix:" + local_socket;
    spdlog::info("admin API: /v1/portal through the portal's admin socket {}", local_socket);
    return std::unique_ptr<admin::PortalAdminApi>(std::make_unique<admin::PortalAdminClient>(
        grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()), endpoint));
  }
  if (link.endpoint.empty()) return std::unique_ptr<admin::PortalAdminApi>();
  SG_ASSIGN_OR_RETURN(auto credentials,
                      keyservice::CredentialsFromDir(
                          link.credentials,
                          "fix: `smimegatectl credentials issue --role admin --out DIR` and set "
                          "keyservice.admin_api.portal.credentials to DIR (or leave "
                          "keyservice.admin_api.portal.endpoint empty)"));
  credentials.server_name = link.server_name;
  spdlog::info("admin API: /v1/portal through the portal at {} (mutual TLS)", link.endpoint);
  return std::unique_ptr<admin::PortalAdminApi>(std::make_unique<admin::PortalAdminClient>(
      keyservice::MakeChannel(link.endpoint, credentials), link.endpoint));
}

}  // namespace sg::app
