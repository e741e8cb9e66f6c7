#include "keyservice/keyservice_server.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/host_name.h"
#include "common/log_event.h"
#include "common/thread_name.h"
#include "keyservice/credentials_files.h"
#include "keyservice/directory_grpc.h"
#include "keyservice/keyservice_grpc_server.h"
#include "keyservice/user_cert_expiry.h"

namespace sg::keyservice {
namespace {

std::string ReadIfExists(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status EnsureLocalAdminCredentials(KeyServiceImpl& impl, const KeyServiceConfig& config,
                                   const Clock& clock) {
  if (config.admin_credentials.empty() || !config.tls.client_ca_file.empty()) return OkStatus();
  std::filesystem::path dir(config.admin_credentials);
  std::string ca = impl.internal_ca().CaPem();
  std::string cert = ReadIfExists(dir / "cert.pem");
  if (!cert.empty() && ReadIfExists(dir / "ca.pem") == ca && !ReadIfExists(dir / "key.pem").empty()) {
    auto facts = InspectCertificatePem(cert, config.tls.trust_domain);
    int64_t renew = UnixSeconds(clock.Now()) + 30 * 24 * 3600;
    if (facts.ok() && facts->role == kRoleAdmin && facts->not_after > renew) return OkStatus();
  }
  SG_ASSIGN_OR_RETURN(CredentialKey key, GenerateCredentialKey());
  CredentialsRequest request{std::string(kRoleAdmin), "local admin (" + HostName() + ")",
                             key.public_key_der, 0};
  SG_ASSIGN_OR_RETURN(IssuedCredentials issued, impl.IssueCredentials(request));
  auto st = WriteCredentialsDir(dir.string(), issued.certificate_pem, key.key_pem, issued.ca_pem);
  OPENSSL_cleanse(key.key_pem.data(), key.key_pem.size());
  if (!st.ok()) {
    return MakeError(st.error().code, "keyservice.admin_credentials: " + st.error().message);
  }
  spdlog::info("keyservice: credentials for the local admin written to {}", dir.string());
  return OkStatus();
}

Result<std::unique_ptr<KeyServiceServer>> KeyServiceServer::Create(
    const KeyServiceConfig& config, std::vector<std::string> hosted_domains,
    metrics::Registry& registry, Clock& clock, const CaFactory& ca_factory) {
  SG_ASSIGN_OR_RETURN(auto impl,
                      KeyServiceImpl::Open(config, hosted_domains, registry, clock, ca_factory));
  SG_RETURN_IF_ERROR(EnsureLocalAdminCredentials(*impl, config, clock));
  std::unique_ptr<KeyServiceServer> server(new KeyServiceServer(config, std::move(impl)));
  RpcServerOptions options;
  options.listen = config.listen;
  options.trust_domain = config.tls.trust_domain;
  if (config.tls.cert_file.empty()) {
    options.tls = InternalTlsSource(server->impl_->internal_ca(), config.tls.server_name,
                                    config.tls.server_validity, clock);
  } else {
    options.tls = FileTlsSource(config.tls.cert_file, config.tls.key_file, config.tls.client_ca_file);
  }
  options.roles = RoleTable::KeyServiceDefault();
  options.audit = server->impl_.get();
  options.registry = &registry;
  SG_ASSIGN_OR_RETURN(server->rpc_, RpcServer::Create(std::move(options)));
  server->rpc_->AddService(server->grpc_service_.get());
  server->rpc_->AddService(server->grpc_admin_.get());
  server->dkim_grpc_ = std::make_unique<DkimGrpc>(*server->impl_);
  server->rpc_->AddService(server->dkim_grpc_.get());  // rules in rpc_roles.cc
  SG_ASSIGN_OR_RETURN(server->directory_,
                      DirectoryService::Create(config.directory, *server->impl_, *server->impl_,
                                               registry, clock, server->impl_.get()));
  // Usage snapshots count the directory import's users per domain (docs/usage.md).
  server->impl_->SetDirectoryTotals([dir = server->directory_.get()] {
    std::map<std::string, uint32_t> totals;
    auto sources = dir->Status("");
    if (!sources.ok()) return totals;
    for (const auto& s : *sources) {
      for (const auto& [domain, t] : s.state.totals) totals[domain] += t.directory_users;
    }
    return totals;
  });
  server->user_cert_expiry_ =
      std::make_unique<UserCertExpiry>(server->impl_->store(), clock, registry);
  server->directory_grpc_ = std::make_unique<DirectoryGrpc>(*server->directory_);
  server->rpc_->AddService(server->directory_grpc_.get());  // no rules: admin only
  return server;
}

KeyServiceServer::KeyServiceServer(const KeyServiceConfig& config,
                                   std::unique_ptr<KeyServiceImpl> impl)
    : config_(config),
      impl_(std::move(impl)),
      grpc_service_(std::make_unique<KeyServiceGrpc>(*impl_)),
      grpc_admin_(std::make_unique<KeyAdminGrpc>(*impl_)) {}

KeyServiceServer::~KeyServiceServer() { Stop(); }

Status KeyServiceServer::Start() {
  SG_RETURN_IF_ERROR(rpc_->Start());
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  impl_->SetDomainCheckWake([this] {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
    cv_.notify_all();
  });
  scheduler_ = std::thread([this] {
    SetCurrentThreadName("sg-ks-rollover");
    SchedulerLoop();
  });
  directory_->Start();
  ready_ = true;
  spdlog::info("keyservice: gRPC API on {}", rpc_->bound_endpoint());
  return OkStatus();
}

void KeyServiceServer::SchedulerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto rolled = impl_->RolloverDue();
    if (!rolled.ok()) {
      log::Event("keyservice")
          .Field("action", "rollover")
          .Field("status", "failed")
          .Field("reason", rolled.error().ToString())
          .Warn();
    } else if (*rolled > 0) {
      log::Event("keyservice").Field("action", "rollover").Field("keys", *rolled).Info();
    }
    // After the renewals: users' certificate expiry per tenant (the gauge).
    if (auto st = user_cert_expiry_->Update(); !st.ok()) {
      log::Event("keyservice")
          .Field("action", "user_cert_expiry")
          .Field("status", "failed")
          .Field("reason", st.error().ToString())
          .Warn();
    }
    // Usage counting: today's snapshot, once per UTC day (docs/usage.md).
    auto snapshot = impl_->UsageSnapshot();
    if (!snapshot.ok()) {
      log::Event("keyservice")
          .Field("action", "usage_snapshot")
          .Field("status", "failed")
          .Field("reason", snapshot.error().ToString())
          .Warn();
    } else if (*snapshot) {
      log::Event("keyservice").Field("action", "usage_snapshot").Field("status", "taken").Info();
    }
    auto checked = impl_->CheckDomainValidations();
    if (!checked.ok()) {
      log::Event("keyservice")
          .Field("action", "domain_validation_check")
          .Field("status", "failed")
          .Field("reason", checked.error().ToString())
          .Warn();
    }
    // Sleep until the next rollover pass or the next due domain check.
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(config_.rollover_check_interval);
    if (auto next = impl_->TimeToNextDomainCheck()) {
      wait = std::clamp(*next, std::chrono::milliseconds(1000), wait);
    }
    lock.lock();
    cv_.wait_for(lock, wait, [this] { return stopping_ || wake_; });
    wake_ = false;
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
  if (directory_) directory_->Stop();
  if (impl_) impl_->Shutdown();  // releases long polls
  if (rpc_) rpc_->Stop();
}

}  // namespace sg::keyservice
