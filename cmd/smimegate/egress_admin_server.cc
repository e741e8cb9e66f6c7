#include "cmd/smimegate/egress_admin_server.h"

#include <spdlog/spdlog.h>

#include "common/deadletter_admin.h"
#include "common/mail_queue.h"
#include "keyservice/audit.h"
#include "keyservice/queue_admin_grpc.h"
#include "keyservice/rpc_server.h"
#include "keyservice/rpc_tls.h"

namespace sg::app {
namespace {

// The egress has no audit store: its records go to the log, one line each.
class LogAuditSink final : public keyservice::AuditSink {
 public:
  void Record(const keyservice::AuditRecord& r) override {
    spdlog::info(R"(audit: subject="{}" role={} method={} arguments="{}" result={}{}{})",
                 r.subject, r.role, r.method, r.arguments, r.result,
                 r.message.empty() ? "" : " message=", r.message);
  }
};

}  // namespace

Result<std::unique_ptr<EgressAdminServer>> EgressAdminServer::Create(
    const egress::EgressAdminConfig& config, queue::Queue& queue, const std::string& topic_prefix,
    mailqueue::Admin& mail_queue, metrics::Registry& registry) {
  std::unique_ptr<EgressAdminServer> s(new EgressAdminServer());
  s->deadletters_ = std::make_unique<deadletter::QueueDeadLetters>(queue, topic_prefix);
  s->audit_ = std::make_unique<LogAuditSink>();
  s->service_ = std::make_unique<keyservice::QueueAdminGrpc>(*s->deadletters_);
  s->service_->SetMailQueue(&mail_queue);
  keyservice::RpcServerOptions options;
  options.listen = config.listen;
  options.config_key = "egress.admin.listen";
  options.tls = keyservice::FileTlsSource(config.cert_file, config.key_file, config.client_ca_file);
  options.audit = s->audit_.get();
  options.registry = &registry;
  auto rpc = keyservice::RpcServer::Create(std::move(options));
  if (!rpc.ok()) {
    return MakeError(
        rpc.error().code,
        "egress.admin.tls: " + rpc.error().message +
            "; fix: `smimegatectl credentials issue --role egress --out DIR` and point "
            "egress.admin.tls.cert_file/key_file/client_ca_file at DIR's cert.pem, "
            "key.pem, ca.pem (or leave egress.admin.listen empty)");
  }
  s->rpc_ = std::move(*rpc);
  s->rpc_->AddService(s->service_.get());  // no rules: admin only
  return s;
}

EgressAdminServer::~EgressAdminServer() { Stop(); }

Status EgressAdminServer::Start() {
  SG_RETURN_IF_ERROR(rpc_->Start());
  started_ = true;
  spdlog::info("egress admin: QueueAdmin on {} (mutual TLS, admin role)", rpc_->bound_endpoint());
  return OkStatus();
}

void EgressAdminServer::Stop() {
  if (rpc_) rpc_->Stop();
  if (service_) service_->SetMailQueue(nullptr);
  started_ = false;
}

}  // namespace sg::app
