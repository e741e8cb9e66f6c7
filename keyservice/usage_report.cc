#include "keyservice/usage_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>

namespace sg::keyservice {
namespace {

int DaysIn(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::string DayOf(const std::string& month, int day) {  // day 1-31
  std::string out = month + "-";
  out.push_back(static_cast<char>('0' + day / 10));
  out.push_back(static_cast<char>('0' + day % 10));
  return out;
}

// The last snapshot of a domain in the month, and the union of its users.
struct DomainAcc {
  const UsageDomainDay* last = nullptr;
  std::string last_date;
  std::set<std::string> users;
};

std::map<std::string, DomainAcc> Accumulate(const std::string& month,
                                            const std::vector<UsageDay>& days, uint32_t* count) {
  std::map<std::string, DomainAcc> out;
  std::vector<const UsageDay*> in_month;
  for (const auto& d : days) {
    if (d.date.size() == 10 && d.date.compare(0, 7, month) == 0) in_month.push_back(&d);
  }
  std::sort(in_month.begin(), in_month.end(),
            [](const UsageDay* a, const UsageDay* b) { return a->date < b->date; });
  *count = static_cast<uint32_t>(in_month.size());
  for (const UsageDay* d : in_month) {
    for (const auto& dd : d->domains) {
      DomainAcc& acc = out[dd.domain];
      acc.last = &dd;
      acc.last_date = d->date;
      acc.users.insert(dd.participating.begin(), dd.participating.end());
    }
  }
  return out;
}

UsageDomainRow DomainRow(const std::string& name, const DomainAcc& acc, const UsageRules& rules) {
  UsageDomainRow row;
  row.domain = name;
  row.tenant = acc.last->tenant;
  row.reseller = acc.last->reseller;
  row.participating = static_cast<uint32_t>(acc.users.size());
  row.total_users = acc.last->total_users;
  row.total_source = acc.last->total_source;
  row.total_unknown = row.total_users == 0;
  if (!row.total_unknown) {
    row.ratio = static_cast<double>(row.participating) / row.total_users;
    row.below_minimum = row.ratio < rules.minimum_ratio;
  }
  return row;
}

}  // namespace

Status CheckUsageMonth(const std::string& month) {
  const bool shape = month.size() == 7 && month[4] == '-' &&
                     std::all_of(month.begin(), month.begin() + 4, ::isdigit) &&
                     ::isdigit(month[5]) && ::isdigit(month[6]);
  const int m = shape ? std::stoi(month.substr(5)) : 0;
  if (!shape || m < 1 || m > 12 || month[0] != '2') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "month \"" + month + "\": YYYY-MM, for example 2026-11");
  }
  return OkStatus();
}

uint32_t UsageTier(const std::vector<uint32_t>& tiers, uint32_t users) {
  uint32_t tier = 0;
  for (uint32_t t : tiers) {
    if (t <= users) tier = std::max(tier, t);
  }
  return tier;
}

UsageReport BuildUsageReport(const std::string& month, const std::vector<UsageDay>& days,
                             const UsageMessages& messages, const UsageRules& rules,
                             const std::string& tenant, const std::string& reseller,
                             const std::string& today) {
  UsageReport r;
  r.month = month;
  auto acc = Accumulate(month, days, &r.days);
  std::set<std::string> have;
  for (const auto& d : days) have.insert(d.date);
  const int year = std::stoi(month.substr(0, 4)), mon = std::stoi(month.substr(5));
  for (int day = 1; day <= DaysIn(year, mon); ++day) {
    const std::string date = DayOf(month, day);
    if (date >= today) break;
    if (have.count(date) == 0) r.missing_days.push_back(date);
  }
  std::map<std::string, UsageTenantRow> tenants;
  std::map<std::string, UsageResellerRow> resellers;
  for (const auto& [name, a] : acc) {
    UsageDomainRow row = DomainRow(name, a, rules);
    UsageTenantRow& t = tenants[row.tenant];
    t.tenant = row.tenant;
    t.reseller = row.reseller;
    ++t.domains;
    t.billable_users += row.participating;
    if (row.below_minimum) ++t.domains_below_minimum;
    r.domains.push_back(std::move(row));
  }
  for (const auto& [id, counters] : messages) {
    UsageTenantRow& t = tenants[id];
    t.tenant = id;
    for (const auto& [k, v] : counters) t.messages[k] += v;
  }
  for (auto& [id, t] : tenants) {
    t.tier = UsageTier(rules.tiers, t.billable_users);
    if (t.reseller.empty()) continue;
    UsageResellerRow& rs = resellers[t.reseller];
    rs.reseller = t.reseller;
    ++rs.tenants;
    rs.billable_users += t.billable_users;
  }
  for (auto& [id, rs] : resellers) rs.tier = UsageTier(rules.tiers, rs.billable_users);
  // The filters: rows of one tenant, or of one reseller's tenants.
  auto keep = [&](const std::string& t, const std::string& rs) {
    return (tenant.empty() || t == tenant) && (reseller.empty() || rs == reseller);
  };
  std::erase_if(r.domains, [&](const UsageDomainRow& d) { return !keep(d.tenant, d.reseller); });
  for (auto& [id, t] : tenants) {
    if (keep(t.tenant, t.reseller)) r.tenants.push_back(std::move(t));
  }
  for (auto& [id, rs] : resellers) {
    // A tenant's report shows no reseller row: it would reveal the other tenants' sum.
    const bool mine = reseller.empty() ? tenant.empty() : id == reseller;
    if (mine) r.resellers.push_back(std::move(rs));
  }
  return r;
}

std::string UsageReportJson(const UsageReport& r) {
  nlohmann::json j;
  j["month"] = r.month;
  j["days"] = r.days;
  j["missing_days"] = r.missing_days;
  j["domains"] = nlohmann::json::array();
  for (const auto& d : r.domains) {
    j["domains"].push_back({{"domain", d.domain},
                            {"tenant", d.tenant},
                            {"reseller", d.reseller},
                            {"participating", d.participating},
                            {"total_users", d.total_users},
                            {"total_source", d.total_source},
                            {"ratio", d.ratio},
                            {"below_minimum", d.below_minimum},
                            {"total_unknown", d.total_unknown}});
  }
  j["tenants"] = nlohmann::json::array();
  for (const auto& t : r.tenants) {
    j["tenants"].push_back({{"tenant", t.tenant},
                            {"reseller", t.reseller},
                            {"domains", t.domains},
                            {"billable_users", t.billable_users},
                            {"tier", t.tier},
                            {"domains_below_minimum", t.domains_below_minimum},
                            {"messages", t.messages}});
  }
  j["resellers"] = nlohmann::json::array();
  for (const auto& rs : r.resellers) {
    j["resellers"].push_back({{"reseller", rs.reseller},
                              {"tenants", rs.tenants},
                              {"billable_users", rs.billable_users},
                              {"tier", rs.tier}});
  }
  return j.dump(2) + "\n";
}

namespace {

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string Csv(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string UsageReportCsv(const UsageReport& r) {
  std::string out =
      "kind,month,id,tenant,reseller,participating_or_billable,total_users,ratio,flag,tier,"
      "signed,encrypted,decrypted,verified,bounced,web_encrypted\r\n";
  for (const auto& d : r.domains) {
    const std::string ratio = fmt::format("{:.4f}", d.ratio);
    const char* flag = d.total_unknown ? "total_unknown" : d.below_minimum ? "below_minimum" : "";
    out += "domain," + r.month + "," + Csv(d.domain) + "," + Csv(d.tenant) + "," +
           Csv(d.reseller) + "," + std::to_string(d.participating) + "," +
           std::to_string(d.total_users) + "," + (d.total_unknown ? "" : ratio) + "," + flag +
           ",,,,,,,\r\n";
  }
  for (const auto& t : r.tenants) {
    out += "tenant," + r.month + "," + Csv(t.tenant) + "," + Csv(t.tenant) + "," +
           Csv(t.reseller) + "," + std::to_string(t.billable_users) + ",,," +
           (t.domains_below_minimum > 0 ? "below_minimum" : "") + "," + std::to_string(t.tier);
    for (const char* c : kUsageCounters) {
      auto it = t.messages.find(c);
      out += "," + std::to_string(it == t.messages.end() ? 0 : it->second);
    }
    out += "\r\n";
  }
  for (const auto& rs : r.resellers) {
    out += "reseller," + r.month + "," + Csv(rs.reseller) + ",," + Csv(rs.reseller) + "," +
           std::to_string(rs.billable_users) + ",,,," + std::to_string(rs.tier) + ",,,,,,\r\n";
  }
  return out;
}

}  // namespace sg::keyservice
