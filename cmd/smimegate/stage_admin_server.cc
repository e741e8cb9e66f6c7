#include "cmd/smimegate/stage_admin_server.h"

#include <spdlog/spdlog.h>

#include "keyservice/audit.h"
#include "keyservice/rpc_server.h"
#include "keyservice/rpc_tls.h"

namespace sg::app {
namespace {

// A stage has no audit store: its records go to the log, one line each.
class LogAuditSink final : public keyservice::AuditSink {
 public:
  void Record(const keyservice::AuditRecord& r) override {
    spdlog::info(R"(audit: subject="{}" role={} method={} arguments="{}" result={}{}{})", r.subject,
                 r.role, r.method, r.arguments, r.result,
                 r.message.empty() ? "" : " message=", r.message);
  }
};

}  // namespace

Result<std::unique_ptr<StageAdminServer>> StageAdminServer::Create(
    const AdminListenerConfig& config, const std::string& section, const std::string& role,
    Services services, metrics::Registry& registry) {
  std::unique_ptr<StageAdminServer> s(new StageAdminServer());
  s->section_ = section;
  s->services_ = std::move(services);
  s->audit_ = std::make_unique<LogAuditSink>();
  keyservice::RpcServerOptions options;
  options.listen = config.listen;
  options.config_key = section + ".listen";
  options.tls = keyservice::FileTlsSource(config.cert_file, config.key_file, config.client_ca_file);
  options.audit = s->audit_.get();
  options.registry = &registry;
  auto rpc = keyservice::RpcServer::Create(std::move(options));
  if (!rpc.ok()) {
    const std::string tls = section + ".tls";
    return MakeError(rpc.error().code,
                     tls + ": " + rpc.error().message +
                         "; fix: `smimegatectl credentials issue --role " + role +
                         " --out DIR` and point " + tls + ".cert_file/key_file/client_ca_file at " +
                         "DIR's cert.pem, key.pem, ca.pem (or leave " + section + ".listen empty)");
  }
  s->rpc_ = std::move(*rpc);
  return s;
}

StageAdminServer::~StageAdminServer() { Stop(); }

Status StageAdminServer::Start() {
  for (grpc::Service* service : services_()) rpc_->AddService(service);  // no rules: admin only
  SG_RETURN_IF_ERROR(rpc_->Start());
  started_ = true;
  spdlog::info("{}: admin API on {} (mutual TLS, admin role)", section_, rpc_->bound_endpoint());
  return OkStatus();
}

void StageAdminServer::Stop() {
  if (rpc_) rpc_->Stop();
  started_ = false;
}

std::string StageAdminServer::bound_endpoint() const { return rpc_->bound_endpoint(); }

}  // namespace sg::app
