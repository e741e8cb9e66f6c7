// DirectoryService: the keyservice's directory sync (docs/directory.md).
// Owns the configured sources (keyservice.directory, directory_config.h),
// the engine (directory_sync.h) and the schedule: every source with an
// interval runs when its last run is that long ago (by the injected clock).
//
//   SyncSource("hr", dry_run)   fetch the source and run it (smimegatectl
//                               directory sync --source hr [--dry-run])
//   SyncView(name, domains, view, dry_run)
//                               a view given by the caller (smimegatectl
//                               user import --sync): a configured csv
//                               source's policy, or an ad-hoc source for
//                               hosted domains no configured source feeds
//   Status(name, tenant)        last run, changes, errors (directory status)
//   RunDue()                    one pass of the schedule (the thread calls
//                               it; tests call it with a FakeClock)
//
// A source bound to a tenant (`tenant:`) feeds only domains that tenant owns
// in the registry: checked by Create and again before every run (a domain
// moved to another tenant at run time fails the source's runs, which then
// change nothing); its users get the tenant and it never touches another
// tenant's users (directory_plan.h).
//
// Threading: thread-safe; runs are serialised, and one source never runs
// twice at a time: a second SyncSource / SyncView / scheduled run of a
// source that is running fails at once with kResourceExhausted ("directory
// source X: a run is in progress since T", directory_run_guard.h). Start() starts the schedule
// thread, Stop() (and the destructor) joins it. The admin, audit sink,
// registry and clock must outlive the service.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "keyservice/directory_config.h"
#include "keyservice/directory_run_guard.h"
#include "keyservice/directory_source.h"
#include "keyservice/directory_sync.h"

namespace sg::keyservice {

struct DirectorySourceStatus {
  std::string name;
  std::string type;  // "csv" | "ad-hoc" (a view sent by smimegatectl)
  std::string tenant;  // the source's tenant id; "" = none (and ad-hoc sources)
  std::set<std::string> domains;
  int64_t interval_seconds = 0;
  DirectorySourceState state;
};

class DirectoryService {
 public:
  // Sources are built from |config|; |admin| is the keyservice the users go to.
  // |aliases|: the alias index aliases go to (the in-process keyservice);
  // null: alias changes fail and are reported.
  static Result<std::unique_ptr<DirectoryService>> Create(const DirectoryConfig& config,
                                                          KeyAdmin& admin, AuditSink& audit,
                                                          metrics::Registry& registry,
                                                          const Clock& clock,
                                                          AliasAdmin* aliases = nullptr);
  // For tests: sources given directly (name -> source; config.sources
  // describes them).
  DirectoryService(const DirectoryConfig& config,
                   std::map<std::string, std::unique_ptr<DirectorySource>> sources,
                   KeyAdmin& admin, AuditSink& audit, metrics::Registry& registry,
                   const Clock& clock, AliasAdmin* aliases = nullptr);
  ~DirectoryService();
  DirectoryService(const DirectoryService&) = delete;
  DirectoryService& operator=(const DirectoryService&) = delete;

  // kNotFound for an unknown source; kResourceExhausted while the source
  // runs already; a source that cannot be fetched is recorded as a failed
  // run and its error returned.
  // |max_disable_share|, when set, replaces the guard's limit for this run.
  Result<SyncOutcome> SyncSource(const std::string& name, bool dry_run,
                                 std::optional<double> max_disable_share = std::nullopt);
  // |domains| only matter for an ad-hoc source (name not configured).
  Result<SyncOutcome> SyncView(const std::string& name, const std::set<std::string>& domains,
                               const DirectoryView& view, bool dry_run,
                               std::optional<double> max_disable_share = std::nullopt);
  // Every configured source and every ad-hoc source that ran ("" = all);
  // |tenant| not empty: only the sources bound to that tenant.
  Result<std::vector<DirectorySourceStatus>> Status(const std::string& name,
                                                    const std::string& tenant = "");

  // Runs the sources whose interval has passed; returns how many ran.
  int RunDue();
  void Start();
  void Stop();

 private:
  const DirectorySourceConfig* Find(const std::string& name) const;
  DirectorySourceSpec SpecOf(const DirectorySourceConfig& source) const;
  // The registry still has every fed domain, owned by the source's tenant.
  sg::Status CheckFedDomains(const DirectorySourceConfig& source);
  // Fetches and runs a configured source; the caller holds its run lease.
  Result<SyncOutcome> RunSource(const DirectorySourceConfig& config, bool dry_run,
                                std::optional<double> max_disable_share);
  Result<DirectorySourceSpec> AdHocSpec(const std::string& name,
                                        const std::set<std::string>& domains);
  std::vector<std::string> AdHocNames() const;

  DirectoryConfig config_;
  std::map<std::string, std::unique_ptr<DirectorySource>> sources_;
  KeyAdmin& admin_;
  const Clock& clock_;
  KeyAdminDirectoryTarget target_;
  DirectoryStateStore store_;
  DirectoryMetrics metrics_;
  DirectorySync sync_;
  DirectoryRunGuard runs_;

  std::mutex mu_;  // the schedule thread
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sg::keyservice
