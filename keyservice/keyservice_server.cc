#include "keyservice/keyservice_server.h"
#include "common/thread_name.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "keyservice/keyservice_grpc_server.h"

namespace sg::keyservice {

Result<std::unique_ptr<KeyServiceServer>> KeyServiceServer::Create(
    const KeyServiceConfig& config, std::vector<std::string> hosted_domains,
    metrics::Registry& registry, Clock& clock) {
  SG_ASSIGN_OR_RETURN(auto impl, KeyServiceImpl::Open(config, hosted_domains, registry, clock));
  return std::unique_ptr<KeyServiceServer>(new KeyServiceServer(config, std::move(impl)));
}

KeyServiceServer::KeyServiceServer(const KeyServiceConfig& config,
                                   std::unique_ptr<KeyServiceImpl> impl)
    : config_(config),
      impl_(std::move(impl)),
      grpc_service_(std::make_unique<KeyServiceGrpc>(*impl_)),
      grpc_admin_(std::make_unique<KeyAdminGrpc>(*impl_)) {}

KeyServiceServer::~KeyServiceServer() { Stop(); }

Status KeyServiceServer::Start() {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config_.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(grpc_service_.get());
  builder.RegisterService(grpc_admin_.get());
  for (grpc::Service* service : extra_services_) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(16 << 20);  // PKCS#12 files, certificate bundles
  builder.SetMaxSendMessageSize(64 << 20);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return MakeError(ErrorCode::kUnavailable,
                     "keyservice.listen: cannot listen on " + config_.listen +
                         " (address in use or not local)");
  }
  bound_endpoint_ = config_.listen.substr(0, config_.listen.rfind(':') + 1) + std::to_string(port);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  scheduler_ = std::thread([this] {
    SetCurrentThreadName("sg-ks-rollover");
    SchedulerLoop();
  });
  ready_ = true;
  spdlog::info("keyservice: gRPC API on {}", bound_endpoint_);
  return OkStatus();
}

void KeyServiceServer::SchedulerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto rolled = impl_->RolloverDue();
    if (!rolled.ok()) {
      spdlog::warn("keyservice: rollover pass failed: {}", rolled.error().ToString());
    } else if (*rolled > 0) {
      spdlog::info("keyservice: rolled over {} keys", *rolled);
    }
    lock.lock();
    cv_.wait_for(lock, config_.rollover_check_interval, [this] { return stopping_; });
  }
}

void KeyServiceServer::Stop() {
  ready_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  if (impl_) impl_->Shutdown();  // releases long polls
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }
}

}  // namespace sg::keyservice
