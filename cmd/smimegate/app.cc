#include "cmd/smimegate/app.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/topics.h"
#include "egress/egress_service.h"
#include "keyservice/decrypt_guard_grpc_client.h"
#include "keyservice/decrypt_guard_store.h"
#include "keyservice/key_cache.h"
#include "keyservice/key_cache_metrics.h"
#include "keyservice/credentials_files.h"
#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/queue_admin_grpc.h"
#include "portal/portal_service.h"
#include "workers/discovery/discovery_config.h"
#include "workers/policy/policy_processor.h"
#include "workers/policy/policy_test_address_processor.h"
#include "workers/worker_pool.h"
#include "cmd/smimegate/app_info_metrics.h"

#include "cmd/smimegate/egress_admin_server.h"
#include "cmd/smimegate/portal_admin_link.h"
#include "cmd/smimegate/stage_admin_server.h"

namespace sg::app {

App::App(AppConfig config, Stage stage)
    : config_(CapShutdownTimes(std::move(config))),
      stage_(stage),
      shutdowns_(registry_.AddCounter(
          "smimegate_shutdowns_total",
          "Shutdowns of this process by how they ended: clean (drained within shutdown.deadline), "
          "deadline (exited at the deadline), second_signal (a second SIGTERM/SIGINT)",
          {"reason"})) {
  ExportBuildInfo(registry_);
  registry_
      .AddGauge("smimegate_shutdown_deadline_seconds",
                "shutdown.deadline: the longest time from SIGTERM/SIGINT to the exit", {})
      .WithLabels({})
      .Set(std::chrono::duration<double>(config_.shutdown_deadline).count());
}

AppConfig App::CapShutdownTimes(AppConfig c) {
  using std::chrono::milliseconds;
  const milliseconds d = c.shutdown_deadline;
  // The stages drain at the same time (RequestStop first); then the queue
  // flushes and closes. Half the deadline for draining, a fifth for closing
  // the queue clients, the rest is slack for the stops that follow.
  c.ingress.shutdown_grace = std::min(c.ingress.shutdown_grace, d / 2);
  c.egress.shutdown_timeout = std::min(c.egress.shutdown_timeout, d / 2);
  c.queue.kafka_close_timeout = std::min(c.queue.kafka_close_timeout, d / 5);
  return c;
}

void App::CountShutdown(const std::string& reason) { shutdowns_.WithLabels({reason}).Inc(); }

void App::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(startup_mu_);
    interrupted_ = true;
  }
  startup_cv_.notify_all();
}

std::string App::WhyNotReady() {
  {
    std::lock_guard<std::mutex> lock(startup_mu_);
    if (!waiting_for_.empty()) return waiting_for_;
    if (starting_) return "starting";
  }
  std::lock_guard<std::mutex> lock(services_mu_);
  std::string out;
  for (const auto& s : services_) {
    if (!s->Ready()) out += (out.empty() ? "" : ", ") + s->Name();
  }
  return out.empty() ? "" : "not serving: " + out;
}

Result<std::string> App::CaCrl() {
  std::lock_guard<std::mutex> lock(services_mu_);  // the keyservice lives while it is listed
  for (const auto& s : services_) {
    if (auto* ks = dynamic_cast<keyservice::KeyServiceServer*>(s.get())) return ks->impl().CaCrl();
  }
  return MakeError(ErrorCode::kUnavailable, "the keyservice is not running");
}

Status App::WaitForDependency(const std::string& what, const std::function<Status()>& attempt) {
  std::chrono::milliseconds backoff(250);
  for (int tries = 1;; ++tries) {
    Status st = attempt();
    if (st.ok() || (st.error().code != ErrorCode::kUnavailable &&
                    st.error().code != ErrorCode::kTimeout)) {
      if (st.ok() && tries > 1) spdlog::info("start-up: {} is reachable now", what);
      std::lock_guard<std::mutex> lock(startup_mu_);
      waiting_for_.clear();
      return st;
    }
    std::unique_lock<std::mutex> lock(startup_mu_);
    waiting_for_ = "waiting for " + what + ": " + st.error().message;
    if (tries == 1 || backoff.count() < 10000) {
      spdlog::warn("start-up: {}; trying again in {} ms (not ready until then)", waiting_for_,
                   backoff.count());
    }
    if (startup_cv_.wait_for(lock, backoff, [this] { return interrupted_.load(); })) {
      return MakeError(ErrorCode::kCancelled, "stopped while " + waiting_for_);
    }
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(10));
  }
}

Status App::OpenQueueWaiting() {
  if (config_.queue.type != "kafka") {
    SG_ASSIGN_OR_RETURN(queue_, queue::OpenQueue(config_.queue));
    return OkStatus();
  }
  return WaitForDependency("the Kafka brokers " + config_.queue.kafka_brokers, [this]() -> Status {
    auto q = queue::OpenQueue(config_.queue);
    if (!q.ok()) return q.error();
    queue_ = std::move(*q);
    return OkStatus();
  });
}

App::~App() { Stop(); }

Status App::Start() {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError,
                     "data_dir " + config_.data_dir + " cannot be created: " + ec.message());
  }
  if (stage_ != Stage::kAll && stage_ != Stage::kKeyService && config_.queue.type != "kafka") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config queue.type: running one stage per process needs queue.type: kafka "
                     "(the embedded queue lives inside one process; use `smimegate run`)");
  }
  // The status endpoint first: /readyz says what start-up waits for.
  status_ = std::make_unique<StatusServer>(config_.metrics, registry_);
  status_->AddReadinessReason("smimegate", [this] { return WhyNotReady(); });
  if (Runs(Stage::kKeyService)) {
    // The built-in CA's CRL (keyservice.ca.crl_url points here).
    status_->AddDocument("/ca.crl", "application/pkix-crl", [this] { return CaCrl(); });
  }
  SG_RETURN_IF_ERROR(status_->Start());
  if (stage_ != Stage::kKeyService) SG_RETURN_IF_ERROR(OpenQueueWaiting());
  if (queue_ && (config_.portal.enabled || config_.policy.web_encryption)) {
    // The portal topics exist only where web encryption is used, so a
    // Kafka cluster without them (create_topics: false) keeps working.
    SG_RETURN_IF_ERROR(queue_->EnsureTopics(
        {{config_.queue.Topic(topics::kPortal), config_.queue.partitions},
         {config_.queue.Topic(topics::kPortalReply), config_.queue.partitions}}));
  }

  // Start order: keyservice, workers, egress, portal, ingress (mail is taken last
  // and stopped first). A wrong KEK or store fails here, before any port.
  if (Runs(Stage::kKeyService)) {
    auto created = keyservice::KeyServiceServer::Create(config_.keyservice,
                                                        config_.hosted_domains, registry_, clock_);
    if (!created.ok()) {
      const Error& e = created.error();
      // A missing or wrong key-encryption key is a configuration error (exit 2).
      bool config_error = e.code == ErrorCode::kInvalidArgument ||
                          e.code == ErrorCode::kNotFound || e.code == ErrorCode::kPermissionDenied;
      return MakeError(config_error ? ErrorCode::kInvalidArgument : e.code, e.message);
    }
    auto ks = std::move(*created);
    keyservice_ = ks.get();
    if (queue_) {
      // `smimegatectl deadletter` reaches the embedded queue through this process.
      deadletters_ = std::make_unique<deadletter::QueueDeadLetters>(*queue_, config_.queue.topic_prefix);
      auto queue_admin = std::make_unique<keyservice::QueueAdminGrpc>(*deadletters_);
      queue_admin_ = queue_admin.get();
      queue_admin_grpc_ = std::move(queue_admin);
      ks->rpc().AddService(queue_admin_grpc_.get());  // no rules: admin only
    }
    keys_ = &ks->local();
    // The decryption failure guard lives with the keyservice; workers in
    // other processes reach it over the same gRPC listener.
    SG_ASSIGN_OR_RETURN(guard_store_, keyservice::DecryptGuardStore::Open(config_.decrypt_guard));
    guard_ = guard_store_.get();
    guard_service_ = std::make_unique<keyservice::DecryptGuardGrpc>(*guard_store_);
    ks->rpc().AddService(guard_service_.get());  // role worker (RoleTable::KeyServiceDefault)
    // The admin REST API: tokens managed over gRPC (no rules: admin only),
    // the HTTPS listener when enabled, both on the in-process keyservice.
    admin_tokens_ = std::make_unique<admin::AdminTokens>(ks->impl().store(), ks->impl(), clock_);
    admin_tokens_grpc_ = std::make_unique<admin::AdminTokensGrpc>(*admin_tokens_);
    ks->rpc().AddService(admin_tokens_grpc_.get());
    std::unique_ptr<admin::AdminServer> admin_server;
    if (config_.admin_api.enabled) {
      admin_server = std::make_unique<admin::AdminServer>(
          config_.admin_api,
          admin::ApiDeps{ks->impl(), ks->impl(), ks->impl(), ks->impl(), *admin_tokens_, clock_,
                         ks->impl(), ks->impl()},
          registry_);
      admin_server_ = admin_server.get();
    }
    {
      std::lock_guard<std::mutex> lock(services_mu_);  // /ca.crl looks for it
      services_.push_back(std::move(ks));
      if (admin_server) services_.push_back(std::move(admin_server));
    }
  } else if (Runs(Stage::kWorker)) {
    // A worker in its own process reaches the keyservice over gRPC; the cache
    // follows its change events so harvested and renewed certificates show up,
    // and keeps public entries in workers.key_cache.path so a restart is warm.
    SG_ASSIGN_OR_RETURN(auto client, ConnectKeyService("worker", std::chrono::seconds(10),
                                                       /*wait_for_ready=*/true));
    SG_RETURN_IF_ERROR(WaitForDependency(
        "the keyservice at " + config_.keyservice.endpoint,
        [&client] { return client->WaitConnected(std::chrono::seconds(2)); }));
    // The decryption failure guard is served next to the keyservice API:
    // the same channel, so the same credentials.
    guard_client_ = std::make_unique<keyservice::DecryptGuardClient>(client->channel(),
                                                                     config_.keyservice.endpoint);
    guard_ = guard_client_.get();
    grpc_clients_.push_back(client.get());
    usage_admin_ = client.get();
    keyservice_client_ = std::move(client);
    SG_ASSIGN_OR_RETURN(keyservice_cache_, keyservice::CachingKeyService::Open(
                                               *keyservice_client_, config_.key_cache, &registry_));
    keys_ = keyservice_cache_.get();
  }
  if (Runs(Stage::kKeyService) && Runs(Stage::kWorker)) {
    // `smimegate run`: the workers still go through the cache. A key-store
    // lookup parses and validates every stored certificate of the address
    // and unseals private keys; uncached that was ~28 % of a worker's time
    // signing and encrypting 10 KB with P-256. Memory only (the store is in
    // this process); the watcher follows the in-process change log, so a
    // harvested or imported certificate is seen within milliseconds.
    keyservice::KeyCacheOptions options;
    options.ttl = config_.key_cache.ttl;
    options.max_stale = std::chrono::milliseconds(0);  // in process: never unavailable
    options.poll_wait = std::chrono::milliseconds(250);  // bounds the wait at shutdown
    key_cache_metrics_ = std::make_unique<keyservice::KeyCacheMetrics>(registry_);
    options.metrics = key_cache_metrics_.get();
    keyservice_cache_ = std::make_unique<keyservice::CachingKeyService>(*keys_, options);
    keys_ = keyservice_cache_.get();
  }

  if (Runs(Stage::kWorker)) {
    smime_metrics_ = std::make_unique<smime::SmimeMetrics>(registry_);
    SG_ASSIGN_OR_RETURN(engine_,
                        smime::SmimeEngine::Create(config_.smime.limits, smime_metrics_.get()));
    auto processor = std::make_unique<workers::PolicyProcessor>(
        config_.policy, config_.smime, *keys_, *guard_, *engine_, registry_);
    tenant_policies_ = std::make_unique<workers::TenantPolicies>();  // docs/tenants.md "Policy"
    processor->SetTenantPolicies(tenant_policies_.get(), config_.portal.enabled);
    discovery_metrics_ = std::make_unique<workers::DiscoveryMetrics>(registry_);
    if (config_.discovery.enabled) {  // docs/discovery.md
      discovery_ = std::make_unique<workers::CertificateDiscovery>(
          config_.discovery.options, workers::BuildDiscoverySources(config_.discovery), *keys_,
          *discovery_metrics_);
      processor->SetDiscovery(discovery_.get());
    }
    // The test address answers in front of the policy (passes through when off).
    processor_ = std::make_unique<workers::TestAddressProcessor>(
        config_.test_address, config_.policy.reporting_mta, std::move(processor), *keys_,
        registry_);
    workers::WorkerConfig wc = config_.workers;
    wc.portal_replies = config_.portal.enabled || config_.policy.web_encryption;
    auto pool = std::make_unique<workers::WorkerPool>(
        wc, config_.queue, *queue_, *processor_, registry_,
        workers::WorkerDsn{config_.policy.reporting_mta, config_.policy.postmaster});
    if (keyservice_ != nullptr) usage_admin_ = &keyservice_->usage();
    if (usage_admin_ != nullptr) {
      // Batches, never one call per message (docs/usage.md).
      tenant_counters_ = std::make_unique<workers::TenantCounters>(
          [usage = usage_admin_](const workers::TenantCounters::Batch& b) {
            return usage->UsageRecordMessages(b);
          },
          registry_);
      pool->SetTenantCounters(tenant_counters_.get());
    }
    services_.push_back(std::move(pool));
  }
  egress::EgressService* egress = nullptr;
  if (Runs(Stage::kEgress)) {
    auto e = std::make_unique<egress::EgressService>(config_.egress, *queue_, registry_,
                                                     config_.queue.topic_prefix);
    // `smimegatectl queue` reaches this egress through the keyservice's
    // admin API (mTLS admin role, audited) when both run here. The services
    // are destroyed only after all have stopped, the keyservice's server too.
    if (queue_admin_ != nullptr) queue_admin_->SetMailQueue(&e->queue_admin());
    egress = e.get();
    services_.push_back(std::move(e));
    if (stage_ == Stage::kEgress && !config_.egress.admin.listen.empty()) {
      // `smimegate egress` alone: its own QueueAdmin port (started after the
      // egress, stopped before it).
      SG_ASSIGN_OR_RETURN(auto admin, EgressAdminServer::Create(config_.egress.admin, *queue_,
                                                                config_.queue.topic_prefix,
                                                                egress->queue_admin(), registry_));
      services_.push_back(std::move(admin));
    }
  }
  if (Runs(Stage::kPortal) && config_.portal.enabled) {
    // Before ingress: web-encrypted mail has its store before mail comes in.
    auto portal = std::make_unique<portal::PortalService>(
        config_.portal, config_.hosted_domains, *queue_,
        portal::PortalTopics{config_.queue.Topic(topics::kPortal),
                             config_.queue.Topic(topics::kDeliver),
                             config_.queue.Topic(topics::kPortalReply),
                             config_.queue.Topic(topics::kDeadLetter)},
        registry_, clock_);
    portal_ = portal.get();
    WirePortalBranding(*portal);
    services_.push_back(std::move(portal));
    if (stage_ == Stage::kPortal && !config_.portal.admin.listen.empty()) {
      // `smimegate portal` alone: PortalAdmin on TCP for the keyservice's
      // REST API (started after the portal, stopped before it).
      SG_ASSIGN_OR_RETURN(
          auto admin, StageAdminServer::Create(
                          config_.portal.admin, "portal.admin", "portal",
                          [p = portal_] { return std::vector<grpc::Service*>{p->admin_service()}; },
                          registry_));
      services_.push_back(std::move(admin));
    }
  } else if (stage_ == Stage::kPortal) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config portal.enabled: `smimegate portal` needs portal.enabled: true");
  }
  if (admin_server_ != nullptr) {
    // The REST API's /v1/portal: the portal here, or the configured one.
    SG_ASSIGN_OR_RETURN(portal_admin_,
                        ConnectPortalAdmin(config_.admin_api.portal,
                                           portal_ != nullptr ? config_.portal.admin_socket : ""));
    admin_server_->SetPortal(portal_admin_.get());
  }
  if (Runs(Stage::kIngress)) {
    SG_ASSIGN_OR_RETURN(ingress_producer_, queue_->CreateProducer());
    auto ingress = std::make_unique<ingress::IngressServer>(
        config_.ingress, config_.hosted_domains,
        ingress::IngressTopics{config_.queue.Topic(topics::kInbound),
                               config_.queue.Topic(topics::kOutbound)},
        *ingress_producer_, registry_);
    ingress_ = ingress.get();
    SG_RETURN_IF_ERROR(WireUserRegistry(*ingress));
    services_.push_back(std::move(ingress));
  }
  if (ingress_ != nullptr || egress != nullptr || tenant_counters_ || tenant_policies_ ||
      portal_brandings_ != nullptr) {
    WireDomainFollower(ingress_, egress);
  }

  {
    std::lock_guard<std::mutex> lock(startup_mu_);
    starting_ = false;  // from now on /readyz asks the stages
  }
  for (auto& s : services_) {
    auto st = s->Start();
    if (!st.ok()) {
      const std::string name = s->Name();  // Stop() destroys the services
      Stop();
      return MakeError(st.error().code, name + ": " + st.error().message);
    }
    ++started_;
  }
  if (domain_follower_) domain_follower_->Start();
  ExportCertificateGauges();
  if (tenant_counters_) tenant_counters_->Start();
  return OkStatus();
}

void App::ExportCertificateGauges() {
  CertificateSources sources;
  if (Runs(Stage::kIngress)) {
    for (const auto& l : config_.ingress.listeners) {
      if (l.tls) sources.files.push_back({"tls_listener", l.name, l.tls->cert_file});
    }
  }
  if (Runs(Stage::kKeyService) && !config_.keyservice.tls.cert_file.empty()) {
    sources.files.push_back({"tls_keyservice", "keyservice", config_.keyservice.tls.cert_file});
  }
  if (Runs(Stage::kPortal) && config_.portal.enabled && config_.portal.tls) {
    sources.files.push_back({"tls_portal", "portal", config_.portal.tls->cert_file});
  }
  std::optional<keyservice::CaCertificates> ca;
  if (keyservice_ != nullptr) {
    auto exported = keyservice_->admin().CaExport();
    if (exported.ok()) {
      ca = std::move(*exported);
      sources.ca = &*ca;
    } else {
      spdlog::warn("certificate expiry of the CA: {}", exported.error().message);
    }
  }
  ExportCertificateExpiry(registry_, sources);
}

keyservice::KeyService* App::FollowerKeyService(const std::string& role,
                                                HostedDomainFollower::Options& options) {
  if (keyservice_ != nullptr) {
    options.poll_wait = std::chrono::milliseconds(250);  // bounds the wait at shutdown
    return &keyservice_->local();
  }
  options.poll_wait = std::chrono::seconds(10);  // Stop cancels the call
  if (!ingress_keyservice_) {
    auto client = ConnectKeyService(role, std::chrono::seconds(5), /*wait_for_ready=*/false);
    if (!client.ok()) {
      spdlog::warn("{}: the hosted domains, tenant routes and relay-client bindings are the "
                   "config file's only (changes with `smimegatectl domain|tenant` need a "
                   "restart): {}",
                   role == "ingress" ? "ingress" : "egress", client.error().message);
      return nullptr;
    }
    grpc_clients_.push_back(client->get());
    ingress_keyservice_ = std::move(*client);
  }
  return ingress_keyservice_.get();
}

void App::WireDomainFollower(ingress::IngressServer* ingress, egress::EgressService* egress) {
  HostedDomainFollower::Options options;
  keyservice::KeyService* keys = nullptr;
  if (ingress == nullptr && egress == nullptr && keyservice_ == nullptr && keys_ != nullptr) {
    keys = keys_;  // `smimegate worker`: its own (cached) gRPC client, role worker
    options.poll_wait = std::chrono::seconds(10);
  } else {
    // `smimegate egress` alone reads with the reader role (TenantDomains, WaitForChanges).
    keys = FollowerKeyService(ingress != nullptr ? "ingress" : "reader", options);
  }
  if (keys == nullptr) return;
  HostedDomainFollower::Apply apply;
  if (ingress != nullptr) {
    apply = [ingress](HostedDomainFollower::Domains d) { ingress->ReplaceHostedDomains(std::move(d)); };
  }
  domain_follower_ = std::make_unique<HostedDomainFollower>(*keys, std::move(apply), registry_, options);
  if (ingress != nullptr) {
    domain_follower_->OnTable([ingress](const keyservice::TenantRoutingTable& t) {
      std::vector<std::tuple<std::string, std::string, std::string>> b;
      b.reserve(t.bindings.size());
      for (const auto& x : t.bindings) b.emplace_back(x.kind, x.value, x.tenant);
      ingress->ReplaceRegistryBindings(ingress::MakeRegistryBindings(b));
    });
  }
  if (tenant_counters_) {
    domain_follower_->OnTable([c = tenant_counters_.get()](const keyservice::TenantRoutingTable& t) {
      std::map<std::string, std::string> domains;
      for (const auto& d : t.domains) domains.emplace(d.name, d.tenant);
      c->ReplaceDomains(std::move(domains));
    });
  }
  if (tenant_policies_) {
    domain_follower_->OnTable(
        [p = tenant_policies_.get()](const keyservice::TenantRoutingTable& t) {
          p->Replace(workers::TenantPolicyTable::Build(t));
        });
  }
  if (portal_brandings_ != nullptr) {
    // The domain -> tenant map of the portal's branding; every table read
    // (after a change event) has the brandings read again at their next use.
    domain_follower_->OnTable([b = portal_brandings_](const keyservice::TenantRoutingTable& t) {
      std::map<std::string, std::string> domains;
      for (const auto& d : t.domains) domains.emplace(d.name, d.tenant);
      b->ReplaceDomains(std::move(domains));
    });
  }
  if (egress != nullptr) {
    domain_follower_->OnTable([egress](const keyservice::TenantRoutingTable& t) {
      egress::TenantRoutes routes;
      for (const auto& d : t.domains) routes.domain_tenant.emplace(d.name, d.tenant);
      for (const auto& r : t.routes) routes.routes[r.tenant] = egress::TenantRouteSpec{r.hosts, r.tls};
      egress->ReplaceTenantRoutes(routes);
    });
  }
}

Status App::WireUserRegistry(ingress::IngressServer& ingress) {
  bool wanted = false;
  for (const auto& d : config_.ingress.recipient_verification.domains) {
    for (const auto& s : d.sources) wanted = wanted || s == "registry";
  }
  if (!wanted) return OkStatus();
  keyservice::KeyService* keys = keys_;
  if (keys == nullptr) {
    // `smimegate ingress`: its own client; lookups wait for the keyservice
    // no longer than a recipient may wait (then 451 4.4.3).
    SG_ASSIGN_OR_RETURN(auto client, ConnectKeyService("ingress", std::chrono::seconds(5),
                                                       /*wait_for_ready=*/false));
    grpc_clients_.push_back(client.get());
    ingress_keyservice_ = std::move(client);
    keys = ingress_keyservice_.get();
  }
  ingress_user_registry_ = std::make_unique<IngressUserRegistry>(*keys);
  ingress.SetUserRegistry(ingress_user_registry_.get());
  return OkStatus();
}

void App::Stop() {
  // Every stage stops taking work now, so they drain at the same time.
  for (size_t i = started_; i > 0; --i) services_[i - 1]->RequestStop();
  // A call waiting for an unreachable keyservice would hold a worker thread
  // (or the key cache's watcher) until its deadline: cancel them all.
  for (auto* c : grpc_clients_) c->Shutdown();
  grpc_clients_.clear();
  // It calls into ingress and the keyservice: gone before they stop.
  if (domain_follower_) domain_follower_->Stop();
  domain_follower_.reset();
  while (started_ > 0) {
    auto& s = services_[--started_];
    // The workers have stopped: their last counts go before the keyservice does.
    if (tenant_counters_ && s.get() == static_cast<Service*>(keyservice_)) tenant_counters_->Stop();
    spdlog::info("stopping {}", s->Name());
    s->Stop();
  }
  if (ingress_producer_) {
    if (auto st = ingress_producer_->Flush(config_.queue.kafka_close_timeout); !st.ok()) {
      spdlog::warn("stopping: ingress queue producer flush failed: {}", st.error().ToString());
    }
  }
  // The cache's watcher may wait on the in-process keyservice: it goes
  // before the services are destroyed (nothing calls it once they stopped).
  keys_ = nullptr;
  keyservice_cache_.reset();
  std::vector<std::unique_ptr<Service>> stopped;
  {
    std::lock_guard<std::mutex> lock(services_mu_);  // /readyz may be asking them
    stopped.swap(services_);
  }
  if (queue_admin_ != nullptr) queue_admin_->SetMailQueue(nullptr);
  stopped.clear();
  queue_admin_ = nullptr;
  queue_admin_grpc_.reset();
  admin_server_ = nullptr;
  admin_tokens_grpc_.reset();
  admin_tokens_.reset();
  deadletters_.reset();
  guard_ = nullptr;
  guard_client_.reset();
  guard_service_.reset();
  guard_store_.reset();
  ingress_ = nullptr;
  portal_ = nullptr;
  if (tenant_counters_) tenant_counters_->Stop();
  tenant_counters_.reset();
  usage_admin_ = nullptr;
  ingress_user_registry_.reset();
  ingress_keyservice_.reset();
  keyservice_ = nullptr;
  processor_.reset();
  engine_.reset();
  smime_metrics_.reset();
  keyservice_client_.reset();
  key_cache_metrics_.reset();
  ingress_producer_.reset();
  if (status_) status_->Stop();
  status_.reset();
  queue_.reset();
}

Result<std::unique_ptr<keyservice::KeyServiceClient>> App::ConnectKeyService(
    const std::string& role, std::chrono::milliseconds timeout, bool wait_for_ready) {
  std::string dir = keyservice::ClientCredentialsDir(config_.keyservice, role);
  auto credentials = keyservice::CredentialsFromDir(
      dir, "this " + role + " needs credentials for the keyservice: issue them with `smimegatectl "
           "credentials issue --role " + role + " --out " + dir +
           "` (or set keyservice.client_credentials)");
  if (!credentials.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "keyservice.client_credentials: " + credentials.error().message);
  }
  credentials->server_name = config_.keyservice.tls.server_name;
  auto client = keyservice::KeyServiceClient::Create(config_.keyservice.endpoint, *credentials,
                                                     timeout, wait_for_ready);
  if (!client.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "keyservice.client_credentials: " + client.error().message);
  }
  return std::move(*client);
}

std::string App::Reload() {
  std::string out;
  auto report = [&](const std::string& what, const Status& s) {
    if (s.ok()) {
      spdlog::info("reload: {} TLS certificates reloaded", what);
      out += (out.empty() ? "" : ", ") + what + " TLS certificates reloaded";
    } else {
      spdlog::error("reload: {}: {} (the previous certificates stay in use)", what, s.error().message);
      out += (out.empty() ? "" : ", ") + what + " TLS certificates NOT reloaded: " + s.error().message;
    }
  };
  if (keyservice_) report("keyservice", keyservice_->Reload());
  if (ingress_) report("ingress", ingress_->Reload());
  return out.empty() ? "nothing to reload" : out;
}

std::string App::Summary() const {
  std::string out;
  if (ingress_) {
    for (const auto& l : config_.ingress.listeners) {
      out += l.name + " " + l.address + ":" + std::to_string(ingress_->Port(l.name)) + ", ";
    }
  }
  if (keyservice_) out += "keyservice " + keyservice_->bound_endpoint() + ", ";
  if (portal_) out += "portal " + portal_->public_url() + ", ";
  if (admin_server_) {
    out += "admin API https://" + config_.admin_api.address + ":" +
           std::to_string(admin_server_->port()) + ", ";
  }
  out += "metrics http://" + config_.metrics.address + ":" +
                    std::to_string(status_ ? status_->port() : config_.metrics.port) + "/metrics";
  out += ", data " + config_.data_dir;
  return out;
}

}  // namespace sg::app
