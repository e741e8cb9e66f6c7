// The portal's admin API (proto/portal.proto, service PortalAdmin), which
// `smimegatectl portal list|purge|resend-link` calls:
//   List        messages of a recipient, of a sending domain, or all
//   Purge       one message, a recipient's messages (and account), or the
//               expired ones now
//   ResendLink  a new one-time link for a stored message; the link sent
//               before no longer opens it (Intake::Notify, portal_intake.h)
//   AccountShow / AccountLogout / AccountUnlock
//               a recipient's account: its state (no password hash, no
//               secret), end every session, lift the login lock
//               (portal_admin_accounts.cc)
// Served by PortalAdminServer on a Unix socket that only the gateway's
// user can open (mode 0600 in a 0700 directory; invariant 8): the socket's
// file permissions are the authentication, as for a local admin tool.
//
// Threading: gRPC's threads; everything used is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "portal/portal_audit.h"
#include "portal/portal_config.h"
#include "portal/portal_intake.h"
#include "portal/portal_limiter.h"
#include "portal/portal_metrics.h"
#include "portal/portal_vault.h"
#include "proto/portal.grpc.pb.h"

namespace grpc {
class Server;
}

namespace sg::portal {

class PortalAdminService final : public smimegate::portal::v1::PortalAdmin::Service {
 public:
  PortalAdminService(const PortalConfig& config, PortalVault& vault, Intake& intake, Audit& audit,
                     PortalMetrics& metrics, LoginLimiter& limiter, const Clock& clock)
      : config_(config),
        vault_(vault),
        intake_(intake),
        audit_(audit),
        metrics_(metrics),
        limiter_(limiter),
        clock_(clock) {}

  grpc::Status List(grpc::ServerContext* context, const pb::ListRequest* request,
                    pb::ListResponse* response) override;
  grpc::Status Purge(grpc::ServerContext* context, const pb::PurgeRequest* request,
                     pb::PurgeResponse* response) override;
  grpc::Status ResendLink(grpc::ServerContext* context, const pb::ResendLinkRequest* request,
                          pb::ResendLinkResponse* response) override;
  grpc::Status AccountShow(grpc::ServerContext* context, const pb::AccountRequest* request,
                           pb::AccountInfo* response) override;
  grpc::Status AccountLogout(grpc::ServerContext* context, const pb::AccountRequest* request,
                             pb::AccountInfo* response) override;
  grpc::Status AccountUnlock(grpc::ServerContext* context, const pb::AccountRequest* request,
                             pb::AccountInfo* response) override;

 private:
  // Fills `out` for the normalised `recipient`; NOT_FOUND when there is
  // neither an account nor a message within `sender_domains`.
  grpc::Status Describe(const std::string& recipient,
                        const google::protobuf::RepeatedPtrField<std::string>& sender_domains,
                        pb::AccountInfo* out);

  const PortalConfig& config_;
  PortalVault& vault_;
  Intake& intake_;
  Audit& audit_;
  PortalMetrics& metrics_;
  LoginLimiter& limiter_;
  const Clock& clock_;
};

// A store or request error as the gRPC status the admin clients map back
// (NOT_FOUND, INVALID_ARGUMENT, UNAVAILABLE for storage, else INTERNAL).
grpc::Status AdminStatus(const Error& e);

class PortalAdminServer {
 public:
  explicit PortalAdminServer(grpc::Service* service);
  ~PortalAdminServer();
  // Binds unix:`socket_path`; kUnavailable when another live process has
  // the socket, kIoError when the directory or mode cannot be set.
  Status Start(const std::string& socket_path);
  void Stop();

 private:
  grpc::Service* service_;
  std::unique_ptr<grpc::Server> server_;
  std::string path_;
};

}  // namespace sg::portal
