// The composition root of `smimegate run`: builds every stage from the
// configuration, starts them in dependency order and stops them in reverse.
//
// Threading: all methods from the main thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "admin/admin_server.h"
#include "admin/admin_tokens.h"
#include "admin/admin_tokens_grpc.h"
#include "cmd/smimegate/app_config.h"
#include "cmd/smimegate/hosted_domain_follower.h"
#include "cmd/smimegate/ingress_user_registry.h"
#include "common/deadletter_admin.h"
#include "common/metrics.h"
#include "common/queue.h"
#include "common/service.h"
#include "common/status_server.h"
#include "egress/egress_service.h"
#include "ingress/ingress_server.h"
#include "common/decrypt_guard.h"
#include "keyservice/decrypt_guard_grpc_server.h"
#include "keyservice/key_cache_metrics.h"
#include "keyservice/keyservice_grpc_client.h"
#include "common/clock.h"
#include "keyservice/keyservice_server.h"
#include "workers/discovery/certificate_discovery.h"
#include "workers/message_processor.h"
#include "workers/tenant_counters.h"
#include "workers/policy/policy_tenant.h"
#include "workers/smime/smime_metrics.h"
#include "workers/smime/smime_engine.h"

namespace grpc {
class Service;
}
namespace sg::keyservice {
class QueueAdminGrpc;
}
namespace sg::portal {
class PortalService;
class TenantBrandings;
}

namespace sg::app {

// Which stages this process runs: all of them around the embedded queue
// (`smimegate run`), or one each over Kafka (`smimegate ingress`...).
enum class Stage { kAll, kIngress, kWorker, kEgress, kKeyService, kPortal };

class App {
 public:
  explicit App(AppConfig config, Stage stage = Stage::kAll);
  ~App();

  // Opens the queue and starts every stage. On error, what was started is
  // stopped again and the error names the stage and the cause.
  //
  // A dependency that is down at start (the Kafka brokers; the keyservice
  // for a worker in its own process) is waited for: the status endpoint
  // serves from the beginning, /readyz answers 503 naming what is awaited
  // and why, and the attempt is repeated with a backoff (250 ms doubling
  // to 10 s) until it succeeds or Interrupt() is called (kCancelled).
  Status Start();
  // From any thread (the signal watcher): makes a Start() that waits for a
  // dependency return kCancelled at once.
  void Interrupt();
  // Graceful: every stage stops taking new work at once (ingress closes its
  // listeners and answers 421 4.3.2), then ingress finishes its sessions,
  // workers and egress finish their batches and commit, then the queue
  // closes. Each step is bounded so that the whole fits in
  // shutdown.deadline (the caller enforces the deadline itself too: see
  // cmd/smimegate/main.cc).
  void Stop();
  // Counts one shutdown in smimegate_shutdowns_total{reason} (clean,
  // deadline, second_signal). Thread-safe.
  void CountShutdown(const std::string& reason);
  std::chrono::milliseconds shutdown_deadline() const { return config_.shutdown_deadline; }
  // SIGHUP: reloads what can change without a restart (TLS certificates of
  // the SMTP listeners and of the keyservice's gRPC API). Returns one line
  // for the operator saying what was reloaded and what failed.
  std::string Reload();

  // One line for people and scripts: what listens where.
  std::string Summary() const;

 private:
  bool Runs(Stage s) const { return stage_ == Stage::kAll || stage_ == s; }
  // Recipient verification's "registry" source, when a domain uses it.
  Status WireUserRegistry(ingress::IngressServer& ingress);
  // smimegate_certificate_not_after_timestamp_seconds (app_info_metrics.h).
  void ExportCertificateGauges();
  // Ingress's hosted domains and relay-client bindings and egress's tenant
  // routes follow the keyservice's registry: in process, or over gRPC with
  // the ingress credentials (`smimegate ingress`) or the reader credentials
  // (`smimegate egress`); without them: the config file only, with a warning.
  void WireDomainFollower(ingress::IngressServer* ingress, egress::EgressService* egress);
  // The keyservice the follower reads: in process or a gRPC client; nullptr
  // (with a warning) when this process has no credentials for it.
  keyservice::KeyService* FollowerKeyService(const std::string& role,
                                             HostedDomainFollower::Options& options);
  // The portal's pages and mails follow the tenant branding of the sender's
  // domain (app_portal_branding.cc): in process, or over gRPC with the reader
  // credentials (`smimegate portal`); without them: portal.* only, with a warning.
  void WirePortalBranding(portal::PortalService& portal);
  // A gRPC client of the keyservice with this process's credentials for `role`.
  Result<std::unique_ptr<keyservice::KeyServiceClient>> ConnectKeyService(
      const std::string& role, std::chrono::milliseconds timeout, bool wait_for_ready);

  // Fits the stages' own drain times into shutdown.deadline.
  static AppConfig CapShutdownTimes(AppConfig config);
  // Start-up with a dependency down: repeats `attempt` while it fails with
  // kUnavailable or kTimeout (see Start()).
  Status WaitForDependency(const std::string& what, const std::function<Status()>& attempt);
  Status OpenQueueWaiting();
  // /readyz: what start-up waits for, or which stages do not serve.
  std::string WhyNotReady();
  // GET /ca.crl on the status port: the in-process keyservice's CA CRL.
  Result<std::string> CaCrl();

  AppConfig config_;
  Stage stage_;
  metrics::Registry registry_;
  metrics::Family<metrics::Counter>& shutdowns_;
  std::unique_ptr<queue::Queue> queue_;
  std::unique_ptr<queue::Producer> ingress_producer_;
  SystemClock clock_;
  portal::PortalService* portal_ = nullptr;  // owned by services_
  keyservice::KeyServiceServer* keyservice_ = nullptr;  // owned by services_
  // The workers' view of the keyservice: in process, or gRPC behind a cache.
  std::unique_ptr<keyservice::KeyService> keyservice_client_;
  // The gRPC clients of the keyservice (worker's, ingress's), to cancel
  // their calls at shutdown; owned by keyservice_client_ / ingress_keyservice_.
  std::vector<keyservice::KeyServiceClient*> grpc_clients_;
  std::unique_ptr<keyservice::KeyService> keyservice_cache_;
  std::unique_ptr<keyservice::KeyCacheMetrics> key_cache_metrics_;  // in-process cache only
  keyservice::KeyService* keys_ = nullptr;
  // The decryption failure guard: the keyservice's store (in process), its
  // gRPC service, or a client of it (worker in its own process).
  std::unique_ptr<keyservice::DecryptFailureGuard> guard_store_;
  std::unique_ptr<keyservice::DecryptGuardGrpc> guard_service_;
  std::unique_ptr<keyservice::DecryptFailureGuard> guard_client_;
  keyservice::DecryptFailureGuard* guard_ = nullptr;
  ingress::IngressServer* ingress_ = nullptr;           // owned by services_
  std::unique_ptr<keyservice::KeyService> ingress_keyservice_;  // `smimegate ingress|egress` only
  std::unique_ptr<IngressUserRegistry> ingress_user_registry_;
  // Ingress's hosted domains follow the keyservice's registry (docs/tenants.md).
  std::unique_ptr<HostedDomainFollower> domain_follower_;
  portal::TenantBrandings* portal_brandings_ = nullptr;  // owned by the portal service
  // Message counters per tenant (workers), sent to the keyservice in batches.
  std::unique_ptr<workers::TenantCounters> tenant_counters_;
  std::unique_ptr<workers::TenantPolicies> tenant_policies_;  // the follower fills it
  keyservice::UsageAdmin* usage_admin_ = nullptr;  // in process or the worker's gRPC client
  std::unique_ptr<smime::SmimeMetrics> smime_metrics_;
  std::unique_ptr<smime::SmimeEngine> engine_;
  // Certificate discovery (workers.discovery), borrowed by the policy.
  std::unique_ptr<workers::DiscoveryMetrics> discovery_metrics_;
  std::unique_ptr<workers::CertificateDiscovery> discovery_;
  std::unique_ptr<workers::MessageProcessor> processor_;
  // Dead-letter administration over the embedded queue, on the keyservice's
  // gRPC server (`smimegate run` only: the queue lives in this process).
  std::unique_ptr<deadletter::Admin> deadletters_;
  std::unique_ptr<grpc::Service> queue_admin_grpc_;
  keyservice::QueueAdminGrpc* queue_admin_ = nullptr;  // queue_admin_grpc_, for egress's queue
  // The admin REST API's tokens (in the keyservice's store), their gRPC
  // service for smimegatectl, and the HTTPS listener when
  // keyservice.admin_api.enabled (docs/admin-api.md).
  std::unique_ptr<admin::AdminTokens> admin_tokens_;
  std::unique_ptr<admin::AdminTokensGrpc> admin_tokens_grpc_;
  admin::AdminServer* admin_server_ = nullptr;  // owned by services_
  std::unique_ptr<admin::PortalAdminApi> portal_admin_;  // its /v1/portal (portal_admin_link.h)
  std::unique_ptr<StatusServer> status_;
  std::vector<std::unique_ptr<Service>> services_;  // in start order; guarded by services_mu_
  size_t started_ = 0;
  std::mutex services_mu_;  // services_ against the status server's thread
  // Start-up waiting for a dependency (WaitForDependency).
  std::mutex startup_mu_;
  std::condition_variable startup_cv_;
  std::string waiting_for_;  // guarded by startup_mu_; "" when not waiting
  bool starting_ = true;     // guarded by startup_mu_
  std::atomic<bool> interrupted_{false};
};

}  // namespace sg::app
