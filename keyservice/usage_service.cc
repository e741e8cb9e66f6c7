// KeyServiceImpl: usage counting (UsageAdmin, docs/usage.md): the daily
// snapshot, the month's report, admin-set user totals and the message
// counters' batches.
#include <algorithm>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "common/mail/address.h"
#include "keyservice/key_service_impl.h"

namespace sg::keyservice {
namespace {

std::string UtcDate(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

bool KnownCounter(const std::string& name) {
  for (const char* c : kUsageCounters) {
    if (name == c) return true;
  }
  return false;
}

}  // namespace

Result<UsageDay> KeyServiceImpl::BuildUsageDay(const std::string& date) {
  UsageDay day;
  day.date = date;
  day.taken_at = UnixSeconds(clock_.Now());
  SG_ASSIGN_OR_RETURN(auto domains, store_->ListDomains());
  SG_ASSIGN_OR_RETURN(auto tenants, tenants_.ListTenants());
  SG_ASSIGN_OR_RETURN(auto users, store_->ListUsers());
  SG_ASSIGN_OR_RETURN(auto admin_totals, usage_.Totals());
  std::map<std::string, uint32_t> directory;
  {
    std::lock_guard<std::mutex> lock(usage_mu_);
    if (directory_totals_) directory = directory_totals_();
  }
  std::map<std::string, std::string> reseller_of;
  for (const auto& t : tenants) reseller_of[t.id()] = t.reseller();
  std::map<std::string, std::vector<std::string>> participating;
  for (const auto& u : users) {
    if (u.participating()) participating[mail::DomainOf(u.address())].push_back(u.address());
  }
  for (const auto& d : domains) {
    UsageDomainDay dd;
    dd.domain = d.name();
    dd.tenant = d.tenant().empty() ? kDefaultTenant : d.tenant();
    dd.reseller = reseller_of[dd.tenant];
    dd.participating = std::move(participating[d.name()]);
    std::sort(dd.participating.begin(), dd.participating.end());
    if (auto a = admin_totals.find(d.name()); a != admin_totals.end()) {
      dd.total_users = a->second;
      dd.total_source = "admin";
    } else if (auto x = directory.find(d.name()); x != directory.end() && x->second > 0) {
      dd.total_users = x->second;
      dd.total_source = "directory";
    }
    day.domains.push_back(std::move(dd));
  }
  return day;
}

void KeyServiceImpl::SetUsageGauge(const UsageDay& day) {
  std::map<std::string, double> per_tenant;
  for (const auto& d : day.domains) per_tenant[d.tenant] += static_cast<double>(d.participating.size());
  std::lock_guard<std::mutex> lock(usage_mu_);
  for (const auto& t : gauge_tenants_) {
    if (per_tenant.count(t) == 0) usage_gauge_.WithLabels({t}).Set(0);  // a removed tenant
  }
  for (const auto& [t, n] : per_tenant) {
    usage_gauge_.WithLabels({t}).Set(n);
    gauge_tenants_.insert(t);
  }
}

Result<bool> KeyServiceImpl::UsageSnapshot() {
  const std::string today = UtcDate(UnixSeconds(clock_.Now()));
  SG_ASSIGN_OR_RETURN(UsageDay day, BuildUsageDay(today));
  SG_ASSIGN_OR_RETURN(bool changed, usage_.MergeDay(day));
  SetUsageGauge(day);
  return changed;
}

Result<UsageReport> KeyServiceImpl::GetUsageReport(const std::string& month,
                                                   const std::string& tenant,
                                                   const std::string& reseller) {
  SG_RETURN_IF_ERROR(CheckUsageMonth(month));
  std::string t, r;
  if (!tenant.empty()) {
    SG_ASSIGN_OR_RETURN(t, NormalizeTenantId(tenant, "tenant"));
  }
  if (!reseller.empty()) {
    SG_ASSIGN_OR_RETURN(r, NormalizeTenantId(reseller, "reseller"));
  }
  SG_ASSIGN_OR_RETURN(auto days, usage_.DaysOfMonth(month));
  SG_ASSIGN_OR_RETURN(auto messages, usage_.MessagesOfMonth(month));
  return BuildUsageReport(month, days, messages, config_.usage, t, r,
                          UtcDate(UnixSeconds(clock_.Now())));
}

Status KeyServiceImpl::UsageSetTotal(const std::string& domain, uint32_t total) {
  SG_ASSIGN_OR_RETURN(std::string name, NormalizeDomain(domain));
  SG_ASSIGN_OR_RETURN(auto existing, store_->GetDomain(name));
  if (!existing) return MakeError(ErrorCode::kNotFound, "domain " + name + " is not hosted");
  return usage_.SetTotal(name, total);
}

Status KeyServiceImpl::UsageRecordMessages(const UsageMessages& counts) {
  const std::string today = UtcDate(UnixSeconds(clock_.Now()));
  for (const auto& [tenant, counters] : counts) {
    SG_ASSIGN_OR_RETURN(std::string id, NormalizeTenantId(tenant, "tenant"));
    for (const auto& [name, n] : counters) {
      if (!KnownCounter(name)) {
        return MakeError(ErrorCode::kInvalidArgument, "unknown message counter \"" + name +
                                                          "\" (signed, encrypted, decrypted, "
                                                          "verified, bounced, web_encrypted)");
      }
    }
    SG_RETURN_IF_ERROR(usage_.AddMessages(today, id, counters));
  }
  return OkStatus();
}

}  // namespace sg::keyservice
