// KeyServiceServer: the keyservice as a runnable component (sg::Service), as
// cmd/smimegate wires it, embedded (`run`) or alone (`keyservice`).
//
//   auto ks = KeyServiceServer::Create(config, hosted_domains, registry, clock);
//   ks->rpc().AddService(&other);       // optional: more services, same mTLS and roles
//   ks->Start();                        // gRPC API + rollover scheduler
//   KeyService& keys = (*ks)->local();  // in-process, for embedded workers
//
// Create() does everything that can fail on bad configuration or a wrong
// KEK (opens the store, checks the KEK, creates the S/MIME CA and the
// internal CA on first start, loads the TLS material) and writes the local
// admin's credentials (keyservice.admin_credentials), so start-up stops
// before any port is bound. Start() binds the gRPC listener (a Unix socket
// or TCP, mutual TLS; port 0 picks a free port: bound_endpoint()) and
// starts the scheduler thread, which runs a rollover pass at start and then
// every rollover_check_interval.
//
// Threading: Start/Stop from the main thread; local(), Ready() and Reload()
// from any.
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
#include "keyservice/dkim_grpc_server.h"
#include "keyservice/key_service_impl.h"
#include "common/clock.h"
#include "keyservice/keyservice_config.h"
#include "keyservice/rpc_server.h"

namespace sg::keyservice {

class KeyServiceGrpc;
class KeyAdminGrpc;
class DirectoryService;
class DirectoryGrpc;
class UserCertExpiry;

class KeyServiceServer : public Service {
 public:
  static Result<std::unique_ptr<KeyServiceServer>> Create(
      const KeyServiceConfig& config, std::vector<std::string> hosted_domains,
      metrics::Registry& registry, Clock& clock, const CaFactory& ca_factory = DefaultCaFactory());
  ~KeyServiceServer() override;

  std::string Name() const override { return "keyservice"; }
  Status Start() override;
  void Stop() override;
  bool Ready() const override { return ready_.load(); }
  // SIGHUP: loads the TLS certificates again (new connections use them).
  Status Reload() { return rpc_->ReloadTls(); }

  // The in-process API for workers in the same process.
  KeyService& local() { return *impl_; }
  // Usage counting in process (the workers' message counters, docs/usage.md).
  UsageAdmin& usage() { return *impl_; }
  KeyAdmin& admin() { return *impl_; }
  KeyServiceImpl& impl() { return *impl_; }
  // The gRPC server, to register further services before Start().
  RpcServer& rpc() { return *rpc_; }
  // Directory sync (directory_service.h): keyservice.directory's sources.
  DirectoryService& directory() { return *directory_; }
  // "127.0.0.1:40123" (the real port when configured with 0) or "unix:/path".
  std::string bound_endpoint() const { return rpc_->bound_endpoint(); }

 private:
  KeyServiceServer(const KeyServiceConfig& config, std::unique_ptr<KeyServiceImpl> impl);
  void SchedulerLoop();

  KeyServiceConfig config_;
  std::unique_ptr<KeyServiceImpl> impl_;
  std::unique_ptr<KeyServiceGrpc> grpc_service_;
  std::unique_ptr<KeyAdminGrpc> grpc_admin_;
  std::unique_ptr<DkimGrpc> dkim_grpc_;  // DKIM keys (proto/dkim.proto)
  std::unique_ptr<RpcServer> rpc_;
  std::unique_ptr<DirectoryService> directory_;
  std::unique_ptr<DirectoryGrpc> directory_grpc_;
  // Users' certificate expiry per tenant, after each rollover pass (user_cert_expiry.h).
  std::unique_ptr<UserCertExpiry> user_cert_expiry_;
  std::atomic<bool> ready_{false};

  std::thread scheduler_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool wake_ = false;  // a domain validation started: check soon
};

// Writes credentials for the local admin into config.admin_credentials
// unless valid ones from the internal CA are there (missing, expiring within
// 30 days or from another CA: new ones). Nothing when the setting is empty
// or client certificates come from the operator's CA.
Status EnsureLocalAdminCredentials(KeyServiceImpl& impl, const KeyServiceConfig& config,
                                   const Clock& clock);

}  // namespace sg::keyservice
