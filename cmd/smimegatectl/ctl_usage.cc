// smimegatectl usage report|snapshot|set-total (docs/usage.md).
#include <fmt/format.h>

#include <iostream>
#include <string>

#include "cmd/smimegatectl/ctl.h"

namespace sg::ctl {
namespace {

struct UsageArgs {
  std::string month, tenant, reseller, format = "text", domain;
  uint32_t total = 0;
};

void PrintText(const ks::UsageReport& r) {
  std::cout << "month " << r.month << ": " << r.days << " daily snapshot(s)";
  if (!r.missing_days.empty()) std::cout << ", " << r.missing_days.size() << " day(s) missing";
  std::cout << "\n\ndomain\ttenant\treseller\tparticipating\ttotal\tratio\tflag\n";
  for (const auto& d : r.domains) {
    const std::string ratio = fmt::format("{:.1f}%", d.ratio * 100);
    std::cout << d.domain << "\t" << d.tenant << "\t" << (d.reseller.empty() ? "-" : d.reseller)
              << "\t" << d.participating << "\t"
              << (d.total_unknown ? "?" : std::to_string(d.total_users)) << "\t"
              << (d.total_unknown ? "-" : ratio) << "\t"
              << (d.total_unknown ? "total unknown" : d.below_minimum ? "BELOW MINIMUM" : "")
              << "\n";
  }
  std::cout << "\ntenant\treseller\tbillable users\ttier\n";
  for (const auto& t : r.tenants) {
    std::cout << t.tenant << "\t" << (t.reseller.empty() ? "-" : t.reseller) << "\t"
              << t.billable_users << "\t" << t.tier << "\n";
  }
  if (r.resellers.empty()) return;
  std::cout << "\nreseller\ttenants\tbillable users\ttier\n";
  for (const auto& rs : r.resellers) {
    std::cout << rs.reseller << "\t" << rs.tenants << "\t" << rs.billable_users << "\t" << rs.tier
              << "\n";
  }
}

}  // namespace

void AddUsageCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<UsageArgs>();
  auto* usage = app.add_subcommand("usage", "usage counting for billing (docs/usage.md)")
                    ->require_subcommand(1);
  auto* report = usage->add_subcommand("report", "a month's billable users, tiers and counters");
  report->add_option("--month", a.month, "YYYY-MM, for example 2026-11")->required();
  auto* tenant = report->add_option("--tenant", a.tenant, "only this tenant");
  report->add_option("--reseller", a.reseller, "only this reseller's tenants")->excludes(tenant);
  report->add_option("--format", a.format, "text | csv | json")
      ->check(CLI::IsMember({"text", "csv", "json"}))
      ->capture_default_str();
  report->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.GetUsageReport(a.month, a.tenant, a.reseller);
      if (!r.ok()) return Fail(r.error());
      if (a.format == "json") {
        std::cout << ks::UsageReportJson(*r);
      } else if (a.format == "csv") {
        std::cout << ks::UsageReportCsv(*r);
      } else {
        PrintText(*r);
      }
      return 0;
    });
  });
  auto* snapshot = usage->add_subcommand("snapshot", "take today's snapshot now (once per day)");
  snapshot->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.UsageSnapshot();
      if (!r.ok()) return Fail(r.error());
      std::cout << (*r ? "today's usage snapshot taken\n" : "today's usage snapshot exists\n");
      return 0;
    });
  });
  auto* total = usage->add_subcommand(
      "set-total", "the number of users of a domain (0: the directory import's count)");
  total->add_option("domain", a.domain, "hosted domain")->required();
  total->add_option("users", a.total, "number of users")->required();
  total->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto st = c.UsageSetTotal(a.domain, a.total);
      if (!st.ok()) return Fail(st.error());
      std::cout << "domain " << a.domain << ": "
                << (a.total == 0 ? std::string("total users from the directory import")
                                 : std::to_string(a.total) + " users")
                << "\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
