// Usage counting for billing (issue 19, docs/usage.md): what one day's
// snapshot holds and how a month's report is computed from the snapshots.
//
// A participating user counts for a month when a snapshot of any day of it
// shows them participating (non-participating addresses are never counted).
// A domain's total users are the directory import's count (directory sync)
// or an admin-set number, as the month's last snapshot of the domain says;
// the participation ratio is participating / total, and a domain below 20 %
// is flagged (a relay fee applies). Per tenant and per reseller: the billable
// users (the sum over their domains) and the volume tier: the largest
// threshold of keyservice.usage.tiers (100, 200, 400, ...) not above the
// billable users; a reseller's tier comes from the sum over its tenants.
// A domain belongs to the tenant (and the tenant to the reseller) its last
// snapshot in the month names.
//
// Pure functions over snapshots: a past month's report depends on its
// snapshots only, never on today's state, so it is reproduced exactly.
//
// Threading: pure functions and plain values.
#pragma once

#include <array>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::keyservice {

// The message counters a batch may carry and the report lists, in the
// report's column order (docs/usage.md).
inline constexpr std::array<const char*, 6> kUsageCounters = {
    "signed", "encrypted", "decrypted", "verified", "bounced", "web_encrypted"};

// One hosted domain on one day.
struct UsageDomainDay {
  std::string domain;
  std::string tenant;
  std::string reseller;                    // the tenant's, that day ("" = direct)
  std::vector<std::string> participating;  // addresses, sorted
  uint32_t total_users = 0;                // 0 = unknown
  std::string total_source;                // "directory" | "admin" | ""
};

struct UsageDay {
  std::string date;  // "2026-11-05" (UTC)
  int64_t taken_at = 0;  // unix seconds
  std::vector<UsageDomainDay> domains;
};

// Message counters of a month: tenant -> counter (signed, encrypted,
// decrypted, verified, bounced, web_encrypted) -> count.
using UsageMessages = std::map<std::string, std::map<std::string, uint64_t>>;

struct UsageDomainRow {
  std::string domain, tenant, reseller;
  uint32_t participating = 0;  // distinct users participating on any day
  uint32_t total_users = 0;    // 0 = unknown
  std::string total_source;
  double ratio = 0;            // participating / total (0 when unknown)
  bool below_minimum = false;  // ratio under the minimum (20 %): relay fee
  bool total_unknown = false;
};

struct UsageTenantRow {
  std::string tenant, reseller;
  uint32_t domains = 0;
  uint32_t billable_users = 0;
  uint32_t tier = 0;  // 0: below the first threshold
  uint32_t domains_below_minimum = 0;
  std::map<std::string, uint64_t> messages;  // counter -> month total
};

struct UsageResellerRow {
  std::string reseller;
  uint32_t tenants = 0;
  uint32_t billable_users = 0;
  uint32_t tier = 0;  // from the sum over its tenants
};

struct UsageReport {
  std::string month;  // "2026-11"
  uint32_t days = 0;  // snapshots the month has
  std::vector<std::string> missing_days;  // days of the month without a snapshot (up to today)
  std::vector<UsageDomainRow> domains;     // by domain
  std::vector<UsageTenantRow> tenants;     // by tenant id
  std::vector<UsageResellerRow> resellers; // by reseller id
};

struct UsageRules {
  std::vector<uint32_t> tiers{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200};
  double minimum_ratio = 0.20;
};

// "2026-11": kInvalidArgument otherwise (month 01-12, year 2000-2999).
Status CheckUsageMonth(const std::string& month);

// The largest threshold of `tiers` (ascending) not above `users`; 0 below all.
uint32_t UsageTier(const std::vector<uint32_t>& tiers, uint32_t users);

// The report of `month` from its days' snapshots (any order; days of other
// months are ignored). `tenant` / `reseller` non-empty: only that tenant's
// rows / that reseller's tenants (its reseller row's tier still counts all
// of its tenants). `today`: "YYYY-MM-DD", for missing_days.
// `messages`: the month's message counters per tenant.
UsageReport BuildUsageReport(const std::string& month, const std::vector<UsageDay>& days,
                             const UsageMessages& messages, const UsageRules& rules,
                             const std::string& tenant, const std::string& reseller,
                             const std::string& today);

// The report as JSON (fields: docs/usage.md) and as CSV (one row per domain,
// then per tenant and per reseller, a `kind` column first).
std::string UsageReportJson(const UsageReport& report);
std::string UsageReportCsv(const UsageReport& report);

}  // namespace sg::keyservice
