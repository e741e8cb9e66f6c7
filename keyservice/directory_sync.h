// Directory sync, the applying part: runs a source's view through the plan
// (directory_plan.h), stops at the mass-removal guard, applies the changes
// to the keyservice's users with one audit record per change, and keeps the
// source's state (directory_state.h) and metrics (directory_metrics.h).
//
// Sources (CSV, Microsoft Graph, LDAP) only produce a DirectoryView; the
// engine does not know where it came from.
//
// A disabled user is a keyservice user with participating = false: no new
// signatures or certificates, its keys stay for decryption (KeyAdmin keeps
// keys when a user is removed, too).
//
// Threading: thread-safe; runs are serialised (one at a time). The target,
// audit sink, store, metrics and clock must outlive the DirectorySync.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "keyservice/alias_admin.h"
#include "keyservice/audit.h"
#include "keyservice/directory_metrics.h"
#include "keyservice/directory_plan.h"
#include "keyservice/directory_state.h"
#include "keyservice/key_admin.h"

namespace sg::keyservice {

// The keyservice's users as the engine sees them.
class DirectoryTarget {
 public:
  virtual ~DirectoryTarget() = default;
  virtual Result<std::vector<KeyserviceUser>> ListUsers(const std::string& domain) = 0;
  // Adds or updates (all or nothing).
  virtual Status PutUsers(const std::vector<KeyserviceUser>& users) = 0;
  virtual Status RemoveUser(const std::string& address) = 0;
  // Replaces the user's aliases in the keyservice's alias index.
  virtual Status SetAliases(const std::string& address, const std::vector<std::string>& aliases) = 0;
};

// The target over KeyAdmin (the keyservice in process, or its gRPC client)
// and the alias index (alias_admin.h; in process only: without it, alias
// changes fail with kUnsupported and are reported).
class KeyAdminDirectoryTarget final : public DirectoryTarget {
 public:
  explicit KeyAdminDirectoryTarget(KeyAdmin& admin, AliasAdmin* aliases = nullptr)
      : admin_(admin), aliases_(aliases) {}
  Result<std::vector<KeyserviceUser>> ListUsers(const std::string& domain) override;
  Status PutUsers(const std::vector<KeyserviceUser>& users) override;
  Status RemoveUser(const std::string& address) override;
  Status SetAliases(const std::string& address, const std::vector<std::string>& aliases) override;

 private:
  KeyAdmin& admin_;
  AliasAdmin* aliases_;
};

struct DirectorySourceSpec {
  std::string name;    // the state key (ValidateSourceName)
  std::string tenant;  // the source's tenant id ("" = none); given to added users
  SyncPolicy policy;   // fed domains, grace period, guard share
};

struct SyncOutcome {
  SyncPlan plan;
  bool dry_run = false;
  bool applied = false;              // false: dry run or guard
  std::vector<std::string> errors;   // changes that failed (the others were applied)
  std::map<std::string, uint32_t> applied_counts;  // kind name -> count
};

class DirectorySync {
 public:
  DirectorySync(DirectoryTarget& target, AuditSink& audit, DirectoryStateStore& store,
                DirectoryMetrics& metrics, const Clock& clock)
      : target_(target), audit_(audit), store_(store), metrics_(metrics), clock_(clock) {}

  // Plans and (unless dry_run or the guard trips) applies. Errors: the
  // target cannot be listed, the state does not load or save. Failed single
  // changes are in SyncOutcome::errors and the run counts as failed.
  Result<SyncOutcome> Run(const DirectorySourceSpec& source, const DirectoryView& view,
                          bool dry_run);
  // Records a run that could not get a view (source unreachable): status
  // and metrics show it, nothing changes.
  Status RecordSourceFailure(const DirectorySourceSpec& source, const std::string& error);
  Result<DirectorySourceState> GetStatus(const std::string& source);

 private:
  Result<std::vector<KeyserviceUser>> CurrentUsers(const SyncPolicy& policy);
  void Apply(const DirectorySourceSpec& source, const std::vector<KeyserviceUser>& current,
             DirectorySourceState& state, SyncOutcome& out);
  void Audit(const std::string& source, const PlannedChange& change, const std::string& error);
  void Finish(const DirectorySourceSpec& source, DirectorySourceState& state,
              const SyncOutcome& out, int64_t started);

  DirectoryTarget& target_;
  AuditSink& audit_;
  DirectoryStateStore& store_;
  DirectoryMetrics& metrics_;
  const Clock& clock_;
  std::mutex mu_;
};

}  // namespace sg::keyservice
