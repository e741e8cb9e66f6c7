// Directory sync, the pure part: given what a directory source says (its
// users of the domains it feeds) and what the keyservice has, compute the
// changes that make the keyservice follow the directory.
//
// Semantics (docs/directory.md):
//   - a user enabled in the directory is added, or updated when its
//     participation (group or attribute, decided by the source) changed;
//   - aliases (proxyAddresses "smtp:") belong to the user and are kept per
//     source; a change of the set is one kAlias change;
//   - a keyservice user of a fed domain that the directory no longer lists
//     (or lists as disabled) is first disabled: participating = false, so it
//     gets no new signatures, its keys stay for decryption; it is removed
//     once it has been disabled for the grace period; it is enabled again
//     when it comes back;
//   - the mass-removal guard: when the new disables exceed max_disable_share
//     of the fed domains' users, the plan is marked `guard_tripped` and must
//     not be applied (an empty or broken source);
//   - a source bound to a tenant (SyncPolicy::tenant) leaves users of
//     another tenant alone: they are never updated, disabled or removed, and
//     do not count for the guard; a directory entry at such an address is
//     skipped with a warning.
//
// Keys: sources and their state are keyed by source name; a source names
// the hosted domains it feeds and, optionally, the tenant owning them.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sg::keyservice {

// One user as the directory sees it (normalised addresses).
struct DirectoryUser {
  std::string address;               // primary SMTP address ("SMTP:" / mail)
  std::vector<std::string> aliases;  // further addresses ("smtp:" prefix optional)
  bool enabled = true;               // accountEnabled / not userAccountControl&2
  bool participating = true;         // member of the group / attribute set
};

// A full listing of the source (every user of the fed domains).
struct DirectoryView {
  std::vector<DirectoryUser> users;
};

// What the keyservice has now for the fed domains.
struct KeyserviceUser {
  std::string address;
  bool participating = true;
  std::string tenant{};  // kept as is by the engine
};

// What the engine remembers per source between runs (directory_state.h).
struct DirectoryMemory {
  std::map<std::string, int64_t> disabled_since;  // address -> unix seconds
  std::map<std::string, std::vector<std::string>> aliases;  // address -> sorted aliases
};

struct SyncPolicy {
  std::set<std::string> domains;         // hosted domains the source feeds
  std::string tenant{};                  // tenant id; "": users of any tenant are the source's
  int64_t grace_seconds = 30 * 86400;    // disabled -> removed
  double max_disable_share = 0.10;       // mass-removal guard
};

enum class ChangeKind { kAdd, kUpdate, kEnable, kAlias, kDisable, kRemove };
const char* ChangeKindName(ChangeKind kind);  // "add", "update", ...

struct PlannedChange {
  ChangeKind kind = ChangeKind::kAdd;
  std::string address;
  bool participating = false;        // after the change (add/update/enable/disable)
  std::vector<std::string> aliases;  // kAlias: the new set
  std::string detail;                // human text ("not in the directory", ...)
};

struct DomainTotals {
  uint32_t directory_users = 0;  // enabled users the directory lists
  uint32_t participating = 0;    // of them participating
};

struct SyncPlan {
  std::vector<PlannedChange> changes;
  std::vector<std::string> warnings;  // skipped entries (foreign domain, alias conflict)
  std::map<std::string, DomainTotals> totals;  // per fed domain (the 20% rule)
  uint32_t existing_users = 0;  // keyservice users of the fed domains, not disabled
  uint32_t new_disables = 0;
  bool guard_tripped = false;
  std::string guard_message;
};

// Whether a keyservice user with the tenant label |user_tenant| belongs to
// a source bound to |tenant|: always when the source has no tenant; a user
// without a label is the source's (its domain belongs to the tenant); a
// label matches as its id (TenantIdFromLabel: "Acme Corp" is acme-corp).
bool UserOfSourceTenant(const std::string& user_tenant, const std::string& tenant);

SyncPlan ComputeSyncPlan(const SyncPolicy& policy, const DirectoryView& view,
                         const std::vector<KeyserviceUser>& current,
                         const DirectoryMemory& memory, int64_t now_seconds);

// One line per change ("disable bob@example.com: not in the directory").
std::string FormatPlan(const SyncPlan& plan);

}  // namespace sg::keyservice
