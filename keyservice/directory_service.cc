#include "keyservice/directory_service.h"

#include <dirent.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/mail/address.h"
#include "common/thread_name.h"
#include "keyservice/tenant_registry.h"

namespace sg::keyservice {
namespace {

int64_t UnixSeconds(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
}

int64_t UnixMillis(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch())
      .count();
}

int64_t Seconds(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

constexpr auto kSchedulePoll = std::chrono::seconds(15);

// Who holds a source's run (DirectoryRunGuard's error names it).
constexpr const char* kByCommand = "smimegatectl directory sync";
constexpr const char* kByImport = "smimegatectl user import --sync";
constexpr const char* kBySchedule = "the schedule";

// kInvalidArgument naming the source, the domain and the fix when a fed
// domain is not hosted or belongs to another tenant than the source's.
sg::Status CheckDomainsOf(const DirectorySourceConfig& source, const std::vector<Domain>& hosted) {
  const std::string key = "keyservice.directory.sources." + source.name;
  for (const auto& d : source.domains) {
    auto it =
        std::find_if(hosted.begin(), hosted.end(), [&](const Domain& h) { return h.name == d; });
    if (it == hosted.end()) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}.domains: {} is not a hosted domain (fix: smimegatectl domain "
                      "add {}, or drop it here)",
                      key, d, d));
    }
    if (!source.tenant.empty() && it->tenant != source.tenant) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}: domain {} belongs to tenant {}, not to the source's tenant {} "
                      "(fix: smimegatectl domain add {} --tenant {}, or feed {} from a "
                      "source of tenant {})",
                      key, d, it->tenant, source.tenant, d, source.tenant, d, it->tenant));
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<DirectoryService>> DirectoryService::Create(const DirectoryConfig& config,
                                                                   KeyAdmin& admin,
                                                                   AuditSink& audit,
                                                                   metrics::Registry& registry,
                                                                   const Clock& clock,
                                                                   AliasAdmin* aliases) {
  SG_ASSIGN_OR_RETURN(auto hosted, admin.ListDomains());
  std::map<std::string, std::unique_ptr<DirectorySource>> sources;
  for (const auto& s : config.sources) {
    SG_RETURN_IF_ERROR(CheckDomainsOf(s, hosted));
    SG_ASSIGN_OR_RETURN(auto source, MakeDirectorySource(s, clock));
    sources.emplace(s.name, std::move(source));
  }
  return std::make_unique<DirectoryService>(config, std::move(sources), admin, audit, registry,
                                            clock, aliases);
}

DirectoryService::DirectoryService(const DirectoryConfig& config,
                                   std::map<std::string, std::unique_ptr<DirectorySource>> sources,
                                   KeyAdmin& admin, AuditSink& audit, metrics::Registry& registry,
                                   const Clock& clock, AliasAdmin* aliases)
    : config_(config),
      sources_(std::move(sources)),
      admin_(admin),
      clock_(clock),
      target_(admin, aliases),
      store_(config.state_dir),
      metrics_(registry),
      sync_(target_, audit, store_, metrics_, clock) {}

DirectoryService::~DirectoryService() { Stop(); }

const DirectorySourceConfig* DirectoryService::Find(const std::string& name) const {
  for (const auto& s : config_.sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

DirectorySourceSpec DirectoryService::SpecOf(const DirectorySourceConfig& source) const {
  DirectorySourceSpec spec;
  spec.name = source.name;
  spec.tenant = source.tenant;
  spec.policy.domains = source.domains;
  spec.policy.tenant = source.tenant;
  spec.policy.grace_seconds = Seconds(source.grace_period);
  spec.policy.max_disable_share = source.max_disable_percent / 100.0;
  return spec;
}

sg::Status DirectoryService::CheckFedDomains(const DirectorySourceConfig& source) {
  SG_ASSIGN_OR_RETURN(auto hosted, admin_.ListDomains());
  return CheckDomainsOf(source, hosted);
}

Result<DirectorySourceSpec> DirectoryService::AdHocSpec(const std::string& name,
                                                        const std::set<std::string>& domains) {
  SG_RETURN_IF_ERROR(ValidateSourceName(name));
  if (domains.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a sync needs the domains it feeds (none given for source " + name + ")");
  }
  SG_ASSIGN_OR_RETURN(auto hosted, admin_.ListDomains());
  DirectorySourceSpec spec;
  spec.name = name;
  spec.policy.grace_seconds = Seconds(config_.grace_period);
  spec.policy.max_disable_share = config_.max_disable_percent / 100.0;
  for (const auto& d : domains) {
    SG_ASSIGN_OR_RETURN(auto domain, mail::NormalizeDomain(d));
    bool is_hosted = false;
    for (const auto& h : hosted) is_hosted = is_hosted || h.name == domain;
    if (!is_hosted) return MakeError(ErrorCode::kNotFound, domain + " is not a hosted domain");
    for (const auto& s : config_.sources) {
      if (s.domains.count(domain) != 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         domain + " is fed by the configured directory source " + s.name +
                             " (sync that source, or name it with --source)");
      }
    }
    spec.policy.domains.insert(domain);
  }
  return spec;
}

Result<SyncOutcome> DirectoryService::SyncSource(const std::string& name, bool dry_run,
                                                 std::optional<double> max_disable_share) {
  const auto* config = Find(name);
  if (config == nullptr) {
    return MakeError(ErrorCode::kNotFound, "no directory source named \"" + name + "\"");
  }
  SG_ASSIGN_OR_RETURN(auto lease, runs_.Acquire(name, UnixMillis(clock_), kByCommand));
  return RunSource(*config, dry_run, max_disable_share);
}

Result<SyncOutcome> DirectoryService::RunSource(const DirectorySourceConfig& config, bool dry_run,
                                                std::optional<double> max_disable_share) {
  DirectorySourceSpec spec = SpecOf(config);
  if (max_disable_share) spec.policy.max_disable_share = *max_disable_share;
  if (auto checked = CheckFedDomains(config); !checked.ok()) {
    if (!dry_run) sync_.RecordSourceFailure(spec, checked.error().message).PermitUncheckedError();
    return checked.error();
  }
  auto view = sources_.at(config.name)->Fetch();
  if (!view.ok()) {
    if (!dry_run) sync_.RecordSourceFailure(spec, view.error().message).PermitUncheckedError();
    return view.error();
  }
  return sync_.Run(spec, *view, dry_run);
}

Result<SyncOutcome> DirectoryService::SyncView(const std::string& name,
                                               const std::set<std::string>& domains,
                                               const DirectoryView& view, bool dry_run,
                                               std::optional<double> max_disable_share) {
  if (const auto* config = Find(name)) {
    if (config->type != "csv") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "directory source " + name + " is of type " + config->type +
                           ": it reads its own directory (smimegatectl directory sync --source " +
                           name + ")");
    }
    SG_ASSIGN_OR_RETURN(auto lease, runs_.Acquire(name, UnixMillis(clock_), kByImport));
    DirectorySourceSpec spec = SpecOf(*config);
    if (max_disable_share) spec.policy.max_disable_share = *max_disable_share;
    if (auto checked = CheckFedDomains(*config); !checked.ok()) {
      if (!dry_run) sync_.RecordSourceFailure(spec, checked.error().message).PermitUncheckedError();
      return checked.error();
    }
    return sync_.Run(spec, view, dry_run);
  }
  SG_ASSIGN_OR_RETURN(auto spec, AdHocSpec(name, domains));
  SG_ASSIGN_OR_RETURN(auto lease, runs_.Acquire(name, UnixMillis(clock_), kByImport));
  if (max_disable_share) spec.policy.max_disable_share = *max_disable_share;
  return sync_.Run(spec, view, dry_run);
}

std::vector<std::string> DirectoryService::AdHocNames() const {
  std::vector<std::string> names;
  DIR* dir = ::opendir(config_.state_dir.c_str());
  if (dir == nullptr) return names;
  while (dirent* e = ::readdir(dir)) {
    std::string file = e->d_name;
    if (file.size() <= 5 || file.compare(file.size() - 5, 5, ".json") != 0) continue;
    std::string name = file.substr(0, file.size() - 5);
    if (Find(name) == nullptr && ValidateSourceName(name).ok()) names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<DirectorySourceStatus>> DirectoryService::Status(
    const std::string& name, const std::string& tenant_filter) {
  std::string tenant;
  if (!tenant_filter.empty()) {
    SG_ASSIGN_OR_RETURN(tenant, NormalizeTenantId(tenant_filter, "tenant"));
  }
  std::vector<DirectorySourceStatus> out;
  auto add = [&](const std::string& n) -> sg::Status {
    DirectorySourceStatus s;
    s.name = n;
    const auto* config = Find(n);
    if (!tenant.empty() && (config == nullptr || config->tenant != tenant)) return OkStatus();
    if (config != nullptr) {
      s.type = config->type;
      s.tenant = config->tenant;
      s.domains = config->domains;
      s.interval_seconds = Seconds(config->interval);
    } else {
      s.type = "ad-hoc";
    }
    SG_ASSIGN_OR_RETURN(s.state, sync_.GetStatus(n));
    if (s.domains.empty()) {
      for (const auto& [domain, totals] : s.state.totals) s.domains.insert(domain);
    }
    out.push_back(std::move(s));
    return OkStatus();
  };
  if (!name.empty()) {
    auto adhoc = AdHocNames();
    if (Find(name) == nullptr && std::find(adhoc.begin(), adhoc.end(), name) == adhoc.end()) {
      return MakeError(ErrorCode::kNotFound, "no directory source named \"" + name + "\"");
    }
    SG_RETURN_IF_ERROR(add(name));
    return out;
  }
  for (const auto& s : config_.sources) SG_RETURN_IF_ERROR(add(s.name));
  for (const auto& n : AdHocNames()) SG_RETURN_IF_ERROR(add(n));
  return out;
}

int DirectoryService::RunDue() {
  int ran = 0;
  int64_t now = UnixSeconds(clock_);
  for (const auto& s : config_.sources) {
    if (s.interval.count() <= 0) continue;
    auto state = sync_.GetStatus(s.name);
    int64_t last = state.ok() ? state->last_run.started_at : 0;
    if (last != 0 && now - last < Seconds(s.interval)) continue;
    auto lease = runs_.Acquire(s.name, UnixMillis(clock_), kBySchedule);
    if (!lease.ok()) {
      // A manual run of the source is in progress; the next poll sees it done.
      spdlog::info("keyservice: scheduled directory run skipped: {}", lease.error().message);
      continue;
    }
    // The outcome is in the source's status and metrics.
    RunSource(s, false, std::nullopt).PermitUncheckedError();
    ++ran;
  }
  return ran;
}

void DirectoryService::Start() {
  bool any = false;
  for (const auto& s : config_.sources) any = any || s.interval.count() > 0;
  if (!any || thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    SetCurrentThreadName("sg-ks-directory");
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      RunDue();
      lock.lock();
      cv_.wait_for(lock, kSchedulePoll, [this] { return stop_; });
    }
  });
}

void DirectoryService::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sg::keyservice
