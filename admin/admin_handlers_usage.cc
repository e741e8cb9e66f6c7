// Usage for billing over REST (docs/admin-api.md "Usage", docs/usage.md):
// the month's report of `smimegatectl usage report` and the admin-set total
// users of `usage set-total`.
#include "admin/admin_handlers.h"
#include "common/mail/address.h"

namespace sg::admin {
namespace {

// The report's filter for this caller: a tenant token sees its own tenant
// only, a reseller token its own reseller (and within it one tenant); a
// filter outside the scope answers the 404 of a missing tenant or reseller.
struct UsageFilter {
  std::string tenant, reseller;
};

std::optional<Answer> ScopeFilter(Call& c, UsageFilter& f) {
  if (!f.tenant.empty() && !f.reseller.empty()) {
    return ErrorAnswer(400, "invalid_argument", "give tenant or reseller, not both");
  }
  if (!f.tenant.empty()) return Hidden(c.access.Tenant(f.tenant), "tenant", f.tenant);
  if (!f.reseller.empty()) return Hidden(c.access.Reseller(f.reseller), "reseller", f.reseller);
  const Scope& scope = c.access.scope();
  if (scope.kind == Scope::Kind::kTenant) f.tenant = scope.id;
  if (scope.kind == Scope::Kind::kReseller) f.reseller = scope.id;
  return std::nullopt;
}

}  // namespace

// GET /v1/usage?month=YYYY-MM[&tenant=T|&reseller=R][&format=json|csv]
Answer GetUsage(Call& c) {
  const std::string month = c.Query("month");
  if (month.empty()) {
    return ErrorAnswer(400, "invalid_argument", "\"month\" is required (YYYY-MM, e.g. 2026-11)");
  }
  const std::string format = c.Query("format").empty() ? "json" : c.Query("format");
  if (format != "json" && format != "csv") {
    return ErrorAnswer(400, "invalid_argument", "\"format\" must be json or csv");
  }
  UsageFilter f{c.Query("tenant"), c.Query("reseller")};
  if (auto refused = ScopeFilter(c, f)) return *refused;
  auto report = c.d.usage.GetUsageReport(month, f.tenant, f.reseller);
  if (!report.ok()) return ErrorAnswer(report.error());
  // A reseller's row sums all its tenants: not a tenant token's business.
  if (c.access.scope().kind == Scope::Kind::kTenant) report->resellers.clear();
  Answer a;
  if (format == "csv") {
    a.content_type = "text/csv; charset=utf-8";
    a.text = keyservice::UsageReportCsv(*report);
  } else {
    a.content_type = "application/json";
    a.text = keyservice::UsageReportJson(*report);
  }
  return a;
}

// PUT /v1/domains/{name}/total-users {"total_users": N} (0: the directory
// import's count again). It is the denominator of the participation ratio
// that decides the relay fee, so a tenant token may not set it (403).
Answer SetDomainTotal(Call& c) {
  const std::string& name = c.params[0];
  if (auto hidden = Hidden(c.access.Domain(name), "domain", name)) return *hidden;
  if (c.access.scope().kind == Scope::Kind::kTenant) {
    return Forbidden("a tenant token cannot set its domains' total users (billing input)");
  }
  auto body = BodyObject(c);
  if (!body.ok()) return ErrorAnswer(body.error());
  auto it = body->find("total_users");
  constexpr uint64_t kMaxTotal = 10'000'000;
  if (it == body->end() || !it->is_number_unsigned() || it->get<uint64_t>() > kMaxTotal) {
    return ErrorAnswer(400, "invalid_argument",
                       "\"total_users\" must be a number from 0 (the directory import's count) "
                       "to 10000000");
  }
  const auto total = static_cast<uint32_t>(it->get<uint64_t>());
  auto domain = mail::NormalizeDomain(name);
  if (!domain.ok()) return ErrorAnswer(domain.error());
  auto st = c.d.usage.UsageSetTotal(*domain, total);
  if (!st.ok()) return ErrorAnswer(st.error());
  return {200, Json{{"domain", *domain}, {"total_users", total}}};
}

}  // namespace sg::admin
