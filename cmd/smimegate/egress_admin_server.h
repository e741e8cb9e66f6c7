// EgressAdminServer: the QueueAdmin gRPC service (keyservice/queue_admin_grpc.h)
// of a separately started egress (`smimegate egress` with egress.admin.listen),
// so that `smimegatectl queue --egress HOST:PORT` reaches the queue of each
// egress pod: its deferred and held mail lives in that process and its local
// store only. `smimegate run` serves the same service on the keyservice's
// listener instead and never builds this.
//
// The port is a StageAdminServer (stage_admin_server.h): mutual TLS with the
// files of egress.admin.tls (role egress, SAN DNS:smimegate-egress), admin
// role only, every call audited in this process's log.
//
// Threading: Start/Stop from the App's thread; gRPC serves on its own.
// Ownership: borrows the queue and the egress's mailqueue::Admin, which must
// outlive Stop() (the App stops this service before the egress).
#pragma once

#include <memory>
#include <string>

#include "cmd/smimegate/stage_admin_server.h"
#include "common/metrics.h"
#include "common/result.h"
#include "common/service.h"
#include "egress/egress_config.h"

namespace sg::queue {
class Queue;
}
namespace sg::mailqueue {
class Admin;
}
namespace sg::deadletter {
class Admin;
}
namespace sg::keyservice {
class QueueAdminGrpc;
}  // namespace sg::keyservice

namespace sg::app {

class EgressAdminServer final : public Service {
 public:
  // Errors: the TLS files do not load (naming egress.admin.tls and the file).
  static Result<std::unique_ptr<EgressAdminServer>> Create(const egress::EgressAdminConfig& config,
                                                           queue::Queue& queue,
                                                           const std::string& topic_prefix,
                                                           mailqueue::Admin& mail_queue,
                                                           metrics::Registry& registry);
  ~EgressAdminServer() override;

  std::string Name() const override { return "egress admin"; }
  // Binds egress.admin.listen; a taken port names it.
  Status Start() override;
  void Stop() override;
  bool Ready() const override { return server_ && server_->Ready(); }

 private:
  EgressAdminServer() = default;

  std::unique_ptr<deadletter::Admin> deadletters_;
  std::unique_ptr<keyservice::QueueAdminGrpc> service_;
  std::unique_ptr<StageAdminServer> server_;
};

}  // namespace sg::app
