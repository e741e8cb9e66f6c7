// KeyServiceServer: the keyservice as a runnable component (sg::Service), as
// cmd/smimegate wires it, embedded (`run`) or alone (`keyservice`).
//
//   auto ks = KeyServiceServer::Create(config, hosted_domains, registry, clock);
//   ks->Start();                        // gRPC API + rollover scheduler
//   KeyService& keys = (*ks)->local();  // in-process, for embedded workers
//
// Create() does everything that can fail on bad configuration or a wrong
// KEK (opens the store, checks the KEK, creates the CA on first start), so
// start-up stops before any port is bound. Start() binds the gRPC listener
// (port 0 picks a free port: bound_endpoint()) and starts the scheduler
// thread, which runs a rollover pass at start and then every
// rollover_check_interval.
//
// Threading: Start/Stop from the main thread; local() and Ready() from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/service.h"
#include "keyservice/key_service_impl.h"
#include "keyservice/keyservice_clock.h"
#include "keyservice/keyservice_config.h"

namespace grpc {
class Server;
class Service;
}

namespace sg::keyservice {

class KeyServiceGrpc;
class KeyAdminGrpc;

class KeyServiceServer : public Service {
 public:
  static Result<std::unique_ptr<KeyServiceServer>> Create(const KeyServiceConfig& config,
                                                          std::vector<std::string> hosted_domains,
                                                          metrics::Registry& registry,
                                                          Clock& clock);
  ~KeyServiceServer() override;

  std::string Name() const override { return "keyservice"; }
  Status Start() override;
  void Stop() override;
  bool Ready() const override { return ready_.load(); }

  // Before Start(): one more service on the same gRPC server (the
  // QueueAdmin of `smimegate run`, the decryption failure guard of
  // keyservice/decrypt_guard_grpc_server.h). Borrowed: it outlives the server.
  void AddService(grpc::Service* service) { extra_services_.push_back(service); }

  // The in-process API for workers in the same process.
  KeyService& local() { return *impl_; }
  KeyAdmin& admin() { return *impl_; }
  KeyServiceImpl& impl() { return *impl_; }
  // "127.0.0.1:40123" once started (the real port when configured with 0).
  std::string bound_endpoint() const { return bound_endpoint_; }

 private:
  KeyServiceServer(const KeyServiceConfig& config, std::unique_ptr<KeyServiceImpl> impl);
  void SchedulerLoop();

  KeyServiceConfig config_;
  std::unique_ptr<KeyServiceImpl> impl_;
  std::unique_ptr<KeyServiceGrpc> grpc_service_;
  std::unique_ptr<KeyAdminGrpc> grpc_admin_;
  std::vector<grpc::Service*> extra_services_;
  std::unique_ptr<grpc::Server> server_;
  std::string bound_endpoint_;
  std::atomic<bool> ready_{false};

  std::thread scheduler_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace sg::keyservice
