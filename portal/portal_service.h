// The portal stage (docs/portal.md): `smimegate portal` in the distributed
// mode, part of `smimegate run` in the embedded one. It owns
//   - the store (RocksDB under portal.store_path) and the vault (KEK ->
//     portal key -> data keys),
//   - the intake: consumers of the portal topic (group portal.consumer_group)
//     that store each message once and send its notification,
//   - the HTTPS server with the pages (portal_web.h),
//   - the admin API on its Unix socket (portal_admin.h),
//   - the expiry, every minute.
//
// Delivery semantics: a record's offset is committed only after every
// recipient's message is stored (synced) and notified (durable in the
// deliver queue); a record that can never be stored (malformed) is kept on
// the dead-letter topic with the reason; storage or queue outages leave the
// record to be read again after a pause (nothing is lost).
//
// Threading: Start/Stop from the main thread (sg::Service).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/queue.h"
#include "common/service.h"
#include "portal/portal_config.h"
#include "portal/portal_password.h"
#include "portal/portal_tenant_branding.h"

namespace grpc {
class Service;
}

namespace sg::portal {

struct PortalTopics {
  std::string portal;
  std::string deliver;
  std::string reply;  // portal-reply: readers' replies, for the workers (R4)
  std::string deadletter;
};

class PortalStore;
class PortalVault;
class Templates;
class PortalMetrics;
class LoginLimiter;
class PasswordHasher;
class Links;
class Sessions;
class Mailer;
class Brands;
class Accounts;
class Audit;
class Intake;
class QueueOutbox;
class PortalWeb;
class PortalAdminService;
class PortalAdminServer;

class PortalService : public Service {
 public:
  PortalService(PortalConfig config, std::vector<std::string> hosted_domains, queue::Queue& queue,
                PortalTopics topics, metrics::Registry& registry, const Clock& clock,
                Argon2Params argon2 = {}, int intake_threads = 2);
  ~PortalService() override;

  std::string Name() const override { return "portal"; }
  Status Start() override;
  void Stop() override;
  bool Ready() const override;

  // Portal pages and mails follow the branding of the tenant owning the
  // sender's domain, read with `fetch` (docs/tenants.md "Branding"). Before
  // Start; the returned cache lives as long as the service and takes the
  // domain -> tenant map from the registry follower (ReplaceDomains).
  TenantBrandings& EnableTenantBranding(TenantBrandingFetch fetch);

  int port() const;
  const std::string& public_url() const;
  // The PortalAdmin service (portal_admin.h), between Start and Stop (null
  // otherwise); portal.admin serves it on TCP too (`smimegate portal`).
  grpc::Service* admin_service();
  // For tests and benchmarks: the parts behind the pages.
  PortalStore& store();
  PortalVault& vault();
  Accounts& accounts();

 private:
  struct Consumer;  // a consumer of the portal topic and its IntakeLoop
  void RunHousekeeping();
  Status IntakeHealth();

  PortalConfig config_;
  std::vector<std::string> hosted_domains_;
  queue::Queue& queue_;
  PortalTopics topics_;
  metrics::Registry& registry_;
  const Clock& clock_;
  Argon2Params argon2_;
  int intake_threads_;

  std::shared_ptr<struct StoreProbe> probe_;
  std::unique_ptr<PortalMetrics> metrics_;
  std::unique_ptr<PortalStore> store_;
  std::unique_ptr<PortalVault> vault_;
  std::unique_ptr<Templates> templates_;
  std::unique_ptr<queue::Producer> producer_;
  std::unique_ptr<QueueOutbox> outbox_;
  std::unique_ptr<LoginLimiter> limiter_;
  std::unique_ptr<PasswordHasher> hasher_;
  std::unique_ptr<Links> links_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<Audit> audit_;
  std::unique_ptr<TenantBrandings> tenant_brandings_;  // null: the config's brands alone
  std::unique_ptr<Brands> brands_;
  std::unique_ptr<Mailer> mailer_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<PortalWeb> web_;
  std::unique_ptr<PortalAdminService> admin_service_;
  std::unique_ptr<PortalAdminServer> admin_server_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::vector<std::thread> threads_;
  std::thread housekeeping_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> started_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sg::portal
