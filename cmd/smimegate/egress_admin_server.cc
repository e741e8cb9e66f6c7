#include "cmd/smimegate/egress_admin_server.h"

#include "common/deadletter_admin.h"
#include "common/mail_queue.h"
#include "keyservice/queue_admin_grpc.h"

namespace sg::app {

Result<std::unique_ptr<EgressAdminServer>> EgressAdminServer::Create(
    const egress::EgressAdminConfig& config, queue::Queue& queue, const std::string& topic_prefix,
    mailqueue::Admin& mail_queue, metrics::Registry& registry) {
  std::unique_ptr<EgressAdminServer> s(new EgressAdminServer());
  s->deadletters_ = std::make_unique<deadletter::QueueDeadLetters>(queue, topic_prefix);
  s->service_ = std::make_unique<keyservice::QueueAdminGrpc>(*s->deadletters_);
  s->service_->SetMailQueue(&mail_queue);
  grpc::Service* service = s->service_.get();
  SG_ASSIGN_OR_RETURN(s->server_,
                      StageAdminServer::Create(
                          config, "egress.admin", "egress",
                          [service] { return std::vector<grpc::Service*>{service}; }, registry));
  return s;
}

EgressAdminServer::~EgressAdminServer() { Stop(); }

Status EgressAdminServer::Start() { return server_->Start(); }

void EgressAdminServer::Stop() {
  if (server_) server_->Stop();
  if (service_) service_->SetMailQueue(nullptr);
}

}  // namespace sg::app
