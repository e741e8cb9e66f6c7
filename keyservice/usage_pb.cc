#include "keyservice/usage_pb.h"

namespace sg::keyservice {

namespace pb = ::smimegate::keyservice::v1;

void UsageReportToPb(const UsageReport& r, pb::UsageReportResponse* out) {
  out->set_month(r.month);
  out->set_days(r.days);
  for (const auto& d : r.missing_days) out->add_missing_days(d);
  for (const auto& d : r.domains) {
    auto* x = out->add_domains();
    x->set_domain(d.domain);
    x->set_tenant(d.tenant);
    x->set_reseller(d.reseller);
    x->set_participating(d.participating);
    x->set_total_users(d.total_users);
    x->set_total_source(d.total_source);
    x->set_ratio(d.ratio);
    x->set_below_minimum(d.below_minimum);
    x->set_total_unknown(d.total_unknown);
  }
  for (const auto& t : r.tenants) {
    auto* x = out->add_tenants();
    x->set_tenant(t.tenant);
    x->set_reseller(t.reseller);
    x->set_domains(t.domains);
    x->set_billable_users(t.billable_users);
    x->set_tier(t.tier);
    x->set_domains_below_minimum(t.domains_below_minimum);
    for (const auto& [k, v] : t.messages) (*x->mutable_messages())[k] = v;
  }
  for (const auto& rs : r.resellers) {
    auto* x = out->add_resellers();
    x->set_reseller(rs.reseller);
    x->set_tenants(rs.tenants);
    x->set_billable_users(rs.billable_users);
    x->set_tier(rs.tier);
  }
}

UsageReport UsageReportFromPb(const pb::UsageReportResponse& r) {
  UsageReport out;
  out.month = r.month();
  out.days = r.days();
  out.missing_days.assign(r.missing_days().begin(), r.missing_days().end());
  for (const auto& x : r.domains()) {
    out.domains.push_back(UsageDomainRow{x.domain(), x.tenant(), x.reseller(), x.participating(),
                                         x.total_users(), x.total_source(), x.ratio(),
                                         x.below_minimum(), x.total_unknown()});
  }
  for (const auto& x : r.tenants()) {
    UsageTenantRow t{x.tenant(), x.reseller(), x.domains(), x.billable_users(), x.tier(),
                     x.domains_below_minimum(), {}};
    for (const auto& [k, v] : x.messages()) t.messages[k] = v;
    out.tenants.push_back(std::move(t));
  }
  for (const auto& x : r.resellers()) {
    out.resellers.push_back(
        UsageResellerRow{x.reseller(), x.tenants(), x.billable_users(), x.tier()});
  }
  return out;
}

void UsageMessagesToPb(const UsageMessages& m, pb::UsageMessagesRequest* out) {
  for (const auto& [tenant, counts] : m) {
    auto* x = out->add_tenants();
    x->set_tenant(tenant);
    for (const auto& [k, v] : counts) (*x->mutable_counts())[k] = v;
  }
}

UsageMessages UsageMessagesFromPb(const pb::UsageMessagesRequest& m) {
  UsageMessages out;
  for (const auto& x : m.tenants()) {
    for (const auto& [k, v] : x.counts()) out[x.tenant()][k] += v;
  }
  return out;
}

}  // namespace sg::keyservice
