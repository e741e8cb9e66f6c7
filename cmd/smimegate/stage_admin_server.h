// StageAdminServer: a stage's own admin gRPC port in the distributed mode,
// where `smimegatectl` or the keyservice cannot reach the stage's state
// through the keyservice's listener:
//   egress.admin   QueueAdmin of an egress pod (egress_admin_server.h)
//   portal.admin   PortalAdmin of a portal pod (the REST API's /v1/portal)
// (common/admin_listener_config.h).
//
// Mutual TLS with the files of <stage>.admin.tls (by default what
// `smimegatectl credentials issue --role <role>` writes: a certificate with
// SAN DNS:smimegate-<role> that is a server certificate too); only callers
// with the admin role pass (deny by default, keyservice/rpc_roles.h). Every
// call leaves an audit record in this process's log (logger "audit": the
// caller's certificate subject, the method, the arguments, the result); the
// keyservice's audit store is another process's.
//
// The services are asked for at Start (`services`), so a stage that makes
// its service only when it starts (the portal) is served: start this after
// the stage and stop it before (the App's service order does).
//
// Threading: Start/Stop from the App's thread; gRPC serves on its own.
// Ownership: the services are borrowed and must stay until Stop().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/admin_listener_config.h"
#include "common/metrics.h"
#include "common/result.h"
#include "common/service.h"

namespace grpc {
class Service;
}
namespace sg::keyservice {
class AuditSink;
class RpcServer;
}  // namespace sg::keyservice

namespace sg::app {

class StageAdminServer final : public Service {
 public:
  using Services = std::function<std::vector<grpc::Service*>()>;
  // `section`: "egress.admin"; `role`: "egress" (names the credentials in errors).
  // Errors: the TLS files do not load (naming <section>.tls, the file and the fix).
  static Result<std::unique_ptr<StageAdminServer>> Create(const AdminListenerConfig& config,
                                                          const std::string& section,
                                                          const std::string& role,
                                                          Services services,
                                                          metrics::Registry& registry);
  ~StageAdminServer() override;

  std::string Name() const override { return section_; }
  // Binds <section>.listen; a taken port names it.
  Status Start() override;
  void Stop() override;
  bool Ready() const override { return started_; }
  std::string bound_endpoint() const;

 private:
  StageAdminServer() = default;

  std::string section_;
  Services services_;
  std::unique_ptr<keyservice::AuditSink> audit_;
  std::unique_ptr<keyservice::RpcServer> rpc_;
  bool started_ = false;
};

}  // namespace sg::app
