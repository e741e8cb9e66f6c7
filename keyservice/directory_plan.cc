#include "keyservice/directory_plan.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "common/ascii.h"
#include "common/mail/address.h"
#include "keyservice/tenant_registry.h"

namespace sg::keyservice {
namespace {

using DirectoryIndex = std::map<std::string, DirectoryUser>;

// "12.5%"
std::string Percent(double value) {
  std::array<char, 32> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%.1f%%", value);
  return {buf.data(), n > 0 ? std::min(static_cast<size_t>(n), buf.size() - 1) : 0};
}

// The directory's users of the fed domains, normalised, with their aliases
// cleaned (in a fed domain, not another user's primary, not claimed twice).
DirectoryIndex IndexDirectory(const SyncPolicy& policy, const DirectoryView& view,
                              std::vector<std::string>& warnings) {
  DirectoryIndex index;
  for (const auto& u : view.users) {
    auto addr = mail::NormalizeAddress(u.address);
    if (!addr.ok()) {
      warnings.push_back("skipped \"" + u.address + "\": " + addr.error().message);
      continue;
    }
    if (policy.domains.count(mail::DomainOf(*addr)) == 0) {
      warnings.push_back("skipped " + *addr + ": domain not fed by this source");
      continue;
    }
    if (index.count(*addr) != 0) {
      warnings.push_back("skipped a second entry for " + *addr);
      continue;
    }
    DirectoryUser copy = u;
    copy.address = *addr;
    index.emplace(*addr, std::move(copy));
  }
  std::map<std::string, std::string> alias_owner;
  for (auto& [addr, u] : index) {
    std::vector<std::string> kept;
    for (const auto& raw : u.aliases) {
      std::string_view text = raw;
      if (text.size() > 5 && AsciiLower(text.substr(0, 5)) == "smtp:") text.remove_prefix(5);
      auto alias = mail::NormalizeAddress(text);
      if (!alias.ok()) {
        std::string warning = addr;
        warning.append(": alias \"").append(raw).append("\" skipped: ").append(alias.error().message);
        warnings.push_back(std::move(warning));
        continue;
      }
      if (*alias == addr) continue;
      if (policy.domains.count(mail::DomainOf(*alias)) == 0) {
        warnings.push_back(addr + ": alias " + *alias + " skipped: domain not fed by this source");
        continue;
      }
      if (index.count(*alias) != 0) {
        warnings.push_back(addr + ": alias " + *alias + " skipped: it is another user's address");
        continue;
      }
      auto [it, fresh] = alias_owner.emplace(*alias, addr);
      if (!fresh && it->second != addr) {
        warnings.push_back(addr + ": alias " + *alias + " skipped: already an alias of " +
                           it->second);
        continue;
      }
      kept.push_back(*alias);
    }
    std::sort(kept.begin(), kept.end());
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
    u.aliases = std::move(kept);
  }
  return index;
}

void PlanListed(const DirectoryIndex& index, const std::map<std::string, bool>& current,
                const DirectoryMemory& memory, SyncPlan& plan) {
  static const std::vector<std::string> kNoAliases;
  for (const auto& [addr, u] : index) {
    if (!u.enabled) continue;
    auto& totals = plan.totals[mail::DomainOf(addr)];
    ++totals.directory_users;
    if (u.participating) ++totals.participating;
    auto cur = current.find(addr);
    if (cur == current.end()) {
      plan.changes.push_back({ChangeKind::kAdd, addr, u.participating, {}, "new in the directory"});
    } else if (memory.disabled_since.count(addr) != 0) {
      plan.changes.push_back({ChangeKind::kEnable, addr, u.participating, {},
                              "back in the directory"});
    } else if (cur->second != u.participating) {
      plan.changes.push_back({ChangeKind::kUpdate, addr, u.participating, {},
                              u.participating ? "now participating" : "no longer participating"});
    }
    auto mem = memory.aliases.find(addr);
    const auto& before = mem == memory.aliases.end() ? kNoAliases : mem->second;
    if (before != u.aliases) {
      plan.changes.push_back({ChangeKind::kAlias, addr, u.participating, u.aliases,
                              std::to_string(u.aliases.size()) + " alias(es)"});
    }
  }
}

void PlanMissing(const SyncPolicy& policy, const DirectoryIndex& index,
                 const std::map<std::string, bool>& current, const DirectoryMemory& memory,
                 int64_t now, SyncPlan& plan) {
  for (const auto& [addr, participating] : current) {
    auto listed = index.find(addr);
    if (listed != index.end() && listed->second.enabled) continue;
    auto since = memory.disabled_since.find(addr);
    if (since == memory.disabled_since.end()) {
      ++plan.new_disables;
      plan.changes.push_back({ChangeKind::kDisable, addr, false, {},
                              listed == index.end() ? "not in the directory"
                                                    : "disabled in the directory"});
    } else if (now - since->second >= policy.grace_seconds) {
      plan.changes.push_back({ChangeKind::kRemove, addr, false, {},
                              "disabled for " + std::to_string((now - since->second) / 86400) +
                                  " days (grace period over)"});
    }
  }
}

}  // namespace

const char* ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdd: return "add";
    case ChangeKind::kUpdate: return "update";
    case ChangeKind::kEnable: return "enable";
    case ChangeKind::kAlias: return "alias";
    case ChangeKind::kDisable: return "disable";
    case ChangeKind::kRemove: return "remove";
  }
  return "?";
}

bool UserOfSourceTenant(const std::string& user_tenant, const std::string& tenant) {
  return tenant.empty() || user_tenant.empty() || TenantIdFromLabel(user_tenant) == tenant;
}

SyncPlan ComputeSyncPlan(const SyncPolicy& policy, const DirectoryView& view,
                         const std::vector<KeyserviceUser>& current,
                         const DirectoryMemory& memory, int64_t now_seconds) {
  SyncPlan plan;
  for (const auto& d : policy.domains) plan.totals[d];
  DirectoryIndex index = IndexDirectory(policy, view, plan.warnings);
  std::map<std::string, bool> fed;  // keyservice users of the fed domains
  for (const auto& u : current) {
    if (policy.domains.count(mail::DomainOf(u.address)) == 0) continue;
    if (!UserOfSourceTenant(u.tenant, policy.tenant)) {
      // Another tenant's user: neither listed nor missing for this source.
      if (index.erase(u.address) != 0) {
        plan.warnings.push_back("skipped " + u.address + ": a user of tenant " + u.tenant +
                                ", not of " + policy.tenant);
      }
      continue;
    }
    fed.emplace(u.address, u.participating);
    if (memory.disabled_since.count(u.address) == 0) ++plan.existing_users;
  }
  PlanListed(index, fed, memory, plan);
  PlanMissing(policy, index, fed, memory, now_seconds, plan);
  double limit = policy.max_disable_share * static_cast<double>(plan.existing_users);
  if (plan.new_disables > 0 && static_cast<double>(plan.new_disables) > limit) {
    plan.guard_tripped = true;
    double share = plan.existing_users == 0
                       ? 100.0
                       : 100.0 * plan.new_disables / plan.existing_users;
    plan.guard_message = "mass-removal guard: the run would disable " +
                         std::to_string(plan.new_disables) + " users (" + Percent(share) +
                         " of " + std::to_string(plan.existing_users) +
                         " users, above the limit of " +
                         Percent(100.0 * policy.max_disable_share) +
                         "); nothing was changed (check the source; if the removals are "
                         "intended, run it once with --max-disable-percent)";
  }
  return plan;
}

std::string FormatPlan(const SyncPlan& plan) {
  std::string out;
  for (const auto& c : plan.changes) {
    out += std::string(ChangeKindName(c.kind)) + " " + c.address;
    if (c.kind == ChangeKind::kAlias) {
      out += " [";
      for (size_t i = 0; i < c.aliases.size(); ++i) out += (i ? " " : "") + c.aliases[i];
      out += "]";
    } else if (c.kind != ChangeKind::kRemove && c.kind != ChangeKind::kDisable) {
      out += c.participating ? " participating" : " not-participating";
    }
    out += ": " + c.detail + "\n";
  }
  for (const auto& w : plan.warnings) out += "warning: " + w + "\n";
  if (plan.guard_tripped) out += plan.guard_message + "\n";
  return out;
}

}  // namespace sg::keyservice
