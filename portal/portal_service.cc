#include "portal/portal_service.h"

#include <spdlog/spdlog.h>

#include "common/thread_name.h"
#include "portal/portal_accounts.h"
#include "portal/portal_admin.h"
#include "portal/portal_audit.h"
#include "portal/portal_brand.h"
#include "portal/portal_expiry.h"
#include "portal/portal_intake.h"
#include "portal/portal_intake_loop.h"
#include "portal/portal_kek.h"
#include "portal/portal_limiter.h"
#include "portal/portal_links.h"
#include "portal/portal_mailer.h"
#include "portal/portal_metrics.h"
#include "portal/portal_outbox.h"
#include "portal/portal_sessions.h"
#include "portal/portal_store_rocksdb.h"
#include "portal/portal_templates.h"
#include "portal/portal_vault.h"
#include "portal/portal_web.h"

namespace sg::portal {
namespace v1 = smimegate::v1;
using namespace std::chrono_literals;

// What the scrape-time gauges read; cleared before the store goes away.
struct StoreProbe {
  std::mutex mu;
  PortalStore* store = nullptr;
  StoreStats Read() {
    std::lock_guard<std::mutex> lock(mu);
    if (store == nullptr) return {};
    auto s = store->Stats();
    return s.ok() ? *s : StoreStats{};
  }
};

struct PortalService::Consumer {
  std::unique_ptr<queue::Consumer> consumer;
  std::unique_ptr<IntakeLoop> loop;
};

PortalService::PortalService(PortalConfig config, std::vector<std::string> hosted_domains,
                             queue::Queue& queue, PortalTopics topics, metrics::Registry& registry,
                             const Clock& clock, Argon2Params argon2, int intake_threads)
    : config_(std::move(config)),
      hosted_domains_(std::move(hosted_domains)),
      queue_(queue),
      topics_(std::move(topics)),
      registry_(registry),
      clock_(clock),
      argon2_(argon2),
      intake_threads_(intake_threads) {}

PortalService::~PortalService() { Stop(); }

TenantBrandings& PortalService::EnableTenantBranding(TenantBrandingFetch fetch) {
  tenant_brandings_ = std::make_unique<TenantBrandings>(std::move(fetch), config_.tenant_branding,
                                                        clock_, registry_);
  return *tenant_brandings_;
}

Status PortalService::Start() {
  SG_ASSIGN_OR_RETURN(SecretKey kek, LoadKek(config_.kek));
  SG_ASSIGN_OR_RETURN(auto store, RocksDbPortalStore::Open(config_.store_path));
  store_ = std::move(store);
  SG_ASSIGN_OR_RETURN(vault_, PortalVault::Open(kek, *store_, clock_));
  SG_ASSIGN_OR_RETURN(templates_, Templates::Load(config_));
  metrics_ = std::make_unique<PortalMetrics>(registry_);
  probe_ = std::make_shared<StoreProbe>();
  probe_->store = store_.get();
  metrics_->WatchStore([probe = probe_] { return probe->Read(); });
  SG_ASSIGN_OR_RETURN(producer_, queue_.CreateProducer());
  outbox_ = std::make_unique<QueueOutbox>(*producer_, topics_.deliver, topics_.reply);
  LimiterConfig lc;
  lc.max_failures = config_.max_login_failures;
  lc.lockout = config_.lockout;
  lc.max_ip_failures = config_.max_ip_failures;
  lc.ip_window = config_.ip_window;
  lc.max_replies = config_.max_replies_per_hour;
  limiter_ = std::make_unique<LoginLimiter>(lc, clock_);
  hasher_ = std::make_unique<PasswordHasher>(argon2_, config_.argon2_concurrency);
  links_ = std::make_unique<Links>(*store_, clock_, config_.public_url);
  sessions_ = std::make_unique<Sessions>(*store_, clock_, config_.session_idle,
                                         config_.session_absolute);
  audit_ = std::make_unique<Audit>(*store_, clock_);
  brands_ = std::make_unique<Brands>(config_, tenant_brandings_.get());
  mailer_ =
      std::make_unique<Mailer>(config_, *templates_, *outbox_, clock_, *metrics_, brands_.get());
  accounts_ = std::make_unique<Accounts>(config_, *vault_, *hasher_, *limiter_, *links_, *mailer_,
                                         *audit_, *metrics_, clock_);
  intake_ = std::make_unique<Intake>(config_, *vault_, *links_, *mailer_, *metrics_, clock_);
  web_ = std::make_unique<PortalWeb>(WebDeps{config_, hosted_domains_, *vault_, *templates_,
                                             *sessions_, *accounts_, *links_, *outbox_, *audit_,
                                             *metrics_, clock_, *brands_});
  SG_RETURN_IF_ERROR(web_->Start());
  if (config_.public_url_derived && config_.port == 0) {
    config_.public_url = "https://" + config_.hostname + ":" + std::to_string(web_->port());
    links_->set_public_url(config_.public_url);
  }
  admin_service_ = std::make_unique<PortalAdminService>(config_, *vault_, *intake_, *audit_,
                                                        *metrics_, *limiter_, clock_);
  admin_server_ = std::make_unique<PortalAdminServer>(admin_service_.get());
  SG_RETURN_IF_ERROR(admin_server_->Start(config_.admin_socket));

  for (int i = 0; i < intake_threads_; ++i) {
    auto c = std::make_unique<Consumer>();
    SG_ASSIGN_OR_RETURN(c->consumer, queue_.CreateConsumer(config_.consumer_group, {topics_.portal}));
    c->loop = std::make_unique<IntakeLoop>(
        *c->consumer, *producer_, topics_.deadletter, *metrics_,
        [intake = intake_.get()](const std::vector<v1::MessageRecord>& records) {
          return intake->HandleBatch(records);
        },
        [this] { return IntakeHealth(); }, static_cast<size_t>(config_.intake_batch));
    consumers_.push_back(std::move(c));
  }
  stopping_ = false;
  for (auto& c : consumers_) {
    IntakeLoop* loop = c->loop.get();
    threads_.emplace_back([loop] { loop->Run(); });
  }
  housekeeping_ = std::thread([this] { RunHousekeeping(); });
  started_ = true;
  spdlog::info("portal: serving {} (store {}, admin socket {})", config_.public_url,
               config_.store_path, config_.admin_socket);
  return OkStatus();
}

grpc::Service* PortalService::admin_service() { return admin_service_.get(); }

void PortalService::Stop() {
  stopping_ = true;
  cv_.notify_all();
  for (auto& c : consumers_) c->loop->Stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  if (housekeeping_.joinable()) housekeeping_.join();
  for (auto& c : consumers_) c->consumer->Close();
  consumers_.clear();
  if (admin_server_) admin_server_->Stop();
  if (web_) web_->Stop();
  if (accounts_) accounts_->Drain();
  if (producer_) {
    if (auto s = producer_->Flush(10s); !s.ok()) {
      spdlog::warn("portal: flushing the queue producer: {}", s.error().ToString());
    }
  }
  if (probe_) {
    std::lock_guard<std::mutex> lock(probe_->mu);
    probe_->store = nullptr;
  }
  admin_server_.reset();
  admin_service_.reset();
  web_.reset();
  intake_.reset();
  accounts_.reset();
  mailer_.reset();
  audit_.reset();
  sessions_.reset();
  links_.reset();
  outbox_.reset();
  producer_.reset();
  vault_.reset();
  store_.reset();
  started_ = false;
}

bool PortalService::Ready() const {
  if (!started_ || !web_ || !web_->Ready()) return false;
  for (const auto& c : consumers_) {
    if (c->loop->finished() || !c->loop->ready()) return false;
  }
  return true;
}

// What the intake needs besides a good record: the store answers and the
// deliver topic exists (Kafka with create_topics: false may lack it).
Status PortalService::IntakeHealth() {
  if (auto stats = store_->Stats(); !stats.ok()) return stats.error();
  auto partitions = queue_.PartitionCount(topics_.deliver);
  if (!partitions.ok()) {
    return MakeError(partitions.error().code, "the deliver topic " + topics_.deliver +
                                                  ": " + partitions.error().ToString());
  }
  return OkStatus();
}

int PortalService::port() const { return web_ ? web_->port() : 0; }
const std::string& PortalService::public_url() const { return config_.public_url; }
PortalStore& PortalService::store() { return *store_; }
PortalVault& PortalService::vault() { return *vault_; }
Accounts& PortalService::accounts() { return *accounts_; }

void PortalService::RunHousekeeping() {
  SetCurrentThreadName("sg-portal-exp");
  // Messages stored but never notified (R13): every 15th pass (a scan of
  // every message), those stored over 15 minutes ago.
  constexpr int kNotifyEvery = 15;
  constexpr int64_t kNotifyAfterMs = int64_t{15} * 60 * 1000;
  for (int pass = 0; !stopping_; ++pass) {
    RunHousekeepingPass([this] { return RunExpiry(*store_, config_, clock_, metrics_.get()); },
                        metrics_->housekeeping_errors);
    if (pass % kNotifyEvery == kNotifyEvery - 1) {
      RunHousekeepingPass(
          [this] {
            return NotifyPending(*store_, clock_, kNotifyAfterMs,
                                 [this](const pb::StoredMessage& m) { return intake_->Notify(m); });
          },
          metrics_->housekeeping_errors);
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 60s, [this] { return stopping_.load(); });
  }
}

}  // namespace sg::portal
