#include "keyservice/directory_sync.h"

#include <chrono>
#include <set>

#include "common/mail/address.h"

namespace sg::keyservice {
namespace {

constexpr size_t kPutChunk = 1000;

int64_t Seconds(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
}

int64_t Micros(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock.Now().time_since_epoch())
      .count();
}

bool IsPut(ChangeKind kind) {
  return kind == ChangeKind::kAdd || kind == ChangeKind::kUpdate || kind == ChangeKind::kEnable ||
         kind == ChangeKind::kDisable;
}

}  // namespace

Result<std::vector<KeyserviceUser>> KeyAdminDirectoryTarget::ListUsers(const std::string& domain) {
  SG_ASSIGN_OR_RETURN(auto users, admin_.ListUsers(domain));
  std::vector<KeyserviceUser> out;
  out.reserve(users.size());
  for (auto& u : users) out.push_back({std::move(u.address), u.participating, std::move(u.tenant)});
  return out;
}

Status KeyAdminDirectoryTarget::PutUsers(const std::vector<KeyserviceUser>& users) {
  std::vector<User> batch;
  batch.reserve(users.size());
  for (const auto& u : users) batch.push_back(User{u.address, u.participating, u.tenant});
  auto r = admin_.PutUsers(batch);
  if (!r.ok()) return r.error();
  return OkStatus();
}

Status KeyAdminDirectoryTarget::RemoveUser(const std::string& address) {
  return admin_.RemoveUser(address);
}

Status KeyAdminDirectoryTarget::SetAliases(const std::string& address,
                                           const std::vector<std::string>& aliases) {
  if (aliases_ == nullptr) {
    return MakeError(ErrorCode::kUnsupported, "the alias index is only reachable in process");
  }
  return aliases_->SetUserAliases(address, aliases);
}

Result<std::vector<KeyserviceUser>> DirectorySync::CurrentUsers(const SyncPolicy& policy) {
  std::vector<KeyserviceUser> all;
  for (const auto& domain : policy.domains) {
    SG_ASSIGN_OR_RETURN(auto users, target_.ListUsers(domain));
    for (auto& u : users) all.push_back(std::move(u));
  }
  return all;
}

void DirectorySync::Audit(const std::string& source, const PlannedChange& change,
                          const std::string& error) {
  AuditRecord r;
  r.time_us = Micros(clock_);
  r.subject = "directory-sync:" + source;
  r.role = "directory";
  r.method = std::string("DirectorySync/") + ChangeKindName(change.kind);
  r.arguments = "address: \"" + change.address + "\"";
  if (IsPut(change.kind)) r.arguments += std::string(" participating: ") +
                                         (change.participating ? "true" : "false");
  if (change.kind == ChangeKind::kAlias) {
    r.arguments += " aliases: [";
    for (size_t i = 0; i < change.aliases.size(); ++i) {
      r.arguments += (i ? ", \"" : "\"") + change.aliases[i] + "\"";
    }
    r.arguments += "]";
  }
  r.arguments += " reason: \"" + change.detail + "\"";
  r.result = error.empty() ? "OK" : "FAILED";
  r.message = error;
  audit_.Record(r);
}

void DirectorySync::Apply(const DirectorySourceSpec& source,
                          const std::vector<KeyserviceUser>& current, DirectorySourceState& state,
                          SyncOutcome& out) {
  std::map<std::string, std::string> tenant_of;
  for (const auto& u : current) tenant_of[u.address] = u.tenant;
  int64_t now = Seconds(clock_);
  auto applied = [&](const PlannedChange& c) {
    ++out.applied_counts[ChangeKindName(c.kind)];
    metrics_.changes.WithLabels({source.name, ChangeKindName(c.kind)}).Inc();
    auto& mem = state.memory;
    switch (c.kind) {
      case ChangeKind::kDisable: mem.disabled_since[c.address] = now; break;
      case ChangeKind::kEnable: mem.disabled_since.erase(c.address); break;
      case ChangeKind::kRemove:
        mem.disabled_since.erase(c.address);
        mem.aliases.erase(c.address);
        break;
      case ChangeKind::kAlias:
        if (c.aliases.empty()) {
          mem.aliases.erase(c.address);
        } else {
          mem.aliases[c.address] = c.aliases;
        }
        break;
      default: break;
    }
    Audit(source.name, c, "");
  };
  auto failed = [&](const PlannedChange& c, const std::string& why) {
    out.errors.push_back(std::string(ChangeKindName(c.kind)) + " " + c.address + ": " + why);
    Audit(source.name, c, why);
  };
  std::vector<const PlannedChange*> puts;
  for (const auto& c : out.plan.changes) if (IsPut(c.kind)) puts.push_back(&c);
  for (size_t i = 0; i < puts.size(); i += kPutChunk) {
    std::vector<KeyserviceUser> batch;
    size_t end = std::min(puts.size(), i + kPutChunk);
    for (size_t k = i; k < end; ++k) {
      const auto& c = *puts[k];
      auto t = tenant_of.find(c.address);
      batch.push_back({c.address, c.participating, t == tenant_of.end() ? source.tenant : t->second});
    }
    auto st = target_.PutUsers(batch);
    for (size_t k = i; k < end; ++k) {
      if (st.ok()) {
        applied(*puts[k]);
      } else {
        failed(*puts[k], st.error().message);
      }
    }
  }
  for (const auto& c : out.plan.changes) {
    if (c.kind == ChangeKind::kAlias) {
      auto st = target_.SetAliases(c.address, c.aliases);
      if (st.ok()) {
        applied(c);
      } else {
        failed(c, st.error().message);
      }
    }
    if (c.kind != ChangeKind::kRemove) continue;
    auto st = target_.RemoveUser(c.address);
    if (st.ok() || st.error().code == ErrorCode::kNotFound) {
      applied(c);
    } else {
      failed(c, st.error().message);
    }
  }
  // Forget users the admin removed meanwhile.
  std::set<std::string> present;
  for (const auto& u : current) present.insert(u.address);
  for (auto it = state.memory.disabled_since.begin(); it != state.memory.disabled_since.end();) {
    it = present.count(it->first) ? std::next(it) : state.memory.disabled_since.erase(it);
  }
  out.applied = true;
}

void DirectorySync::Finish(const DirectorySourceSpec& source, DirectorySourceState& state,
                           const SyncOutcome& out, int64_t started) {
  auto& run = state.last_run;
  run.started_at = started / 1000000;
  run.finished_at = Seconds(clock_);
  run.duration_seconds = static_cast<double>(Micros(clock_) - started) / 1e6;
  run.guard_tripped = out.plan.guard_tripped;
  run.ok = out.applied && out.errors.empty();
  run.changes = out.applied_counts;
  run.errors = out.errors;
  if (out.plan.guard_tripped) run.errors.insert(run.errors.begin(), out.plan.guard_message);
  metrics_.run_seconds.WithLabels({source.name}).Observe(run.duration_seconds);
  metrics_.guard_tripped.WithLabels({source.name}).Set(out.plan.guard_tripped ? 1 : 0);
  const char* outcome = out.plan.guard_tripped ? "guard" : run.ok ? "ok" : "failed";
  metrics_.runs.WithLabels({source.name, outcome}).Inc();
  if (!run.ok) metrics_.failures.WithLabels({source.name}).Inc();
  if (run.ok) {
    state.last_success_at = run.finished_at;
    metrics_.last_success.WithLabels({source.name}).Set(static_cast<double>(run.finished_at));
  }
}

Result<SyncOutcome> DirectorySync::Run(const DirectorySourceSpec& source,
                                       const DirectoryView& view, bool dry_run) {
  std::lock_guard lock(mu_);
  SG_RETURN_IF_ERROR(ValidateSourceName(source.name));
  int64_t started = Micros(clock_);
  SG_ASSIGN_OR_RETURN(auto state, store_.Load(source.name));
  auto current = CurrentUsers(source.policy);
  if (!current.ok()) {
    SyncOutcome failed_out;
    failed_out.errors.push_back("listing the keyservice's users: " + current.error().message);
    if (!dry_run) {
      Finish(source, state, failed_out, started);
      SG_RETURN_IF_ERROR(store_.Save(source.name, state));
    }
    return current.error();
  }
  SyncOutcome out;
  out.dry_run = dry_run;
  out.plan = ComputeSyncPlan(source.policy, view, *current, state.memory, Seconds(clock_));
  if (dry_run) {
    metrics_.runs.WithLabels({source.name, "dry_run"}).Inc();
    return out;
  }
  if (!out.plan.guard_tripped) {
    Apply(source, *current, state, out);
    state.totals = out.plan.totals;
    for (const auto& [domain, t] : state.totals) {
      metrics_.domain_users.WithLabels({domain, "directory"}).Set(t.directory_users);
      metrics_.domain_users.WithLabels({domain, "participating"}).Set(t.participating);
    }
  }
  Finish(source, state, out, started);
  SG_RETURN_IF_ERROR(store_.Save(source.name, state));
  return out;
}

Status DirectorySync::RecordSourceFailure(const DirectorySourceSpec& source,
                                          const std::string& error) {
  std::lock_guard lock(mu_);
  int64_t started = Micros(clock_);
  SG_ASSIGN_OR_RETURN(auto state, store_.Load(source.name));
  SyncOutcome out;
  out.errors.push_back(error);
  Finish(source, state, out, started);
  return store_.Save(source.name, state);
}

Result<DirectorySourceState> DirectorySync::GetStatus(const std::string& source) {
  std::lock_guard lock(mu_);
  return store_.Load(source);
}

}  // namespace sg::keyservice
