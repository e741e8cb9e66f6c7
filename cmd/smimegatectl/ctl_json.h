// `--json` output of smimegatectl's list commands: one JSON array of
// objects on stdout, with the field names documented in docs/tenants.md
// ("JSON output of the lists"). Field names are stable: new fields may be
// added, none renamed or removed. Times are unix seconds (audit: unix
// microseconds), as the API carries them.
//
// Threading: single-threaded (smimegatectl).
#pragma once

#include <nlohmann/json.hpp>

#include "keyservice/key_admin.h"
#include "keyservice/tenant_admin.h"

namespace sg::ctl {

nlohmann::json UserJson(const keyservice::User& u);
nlohmann::json DomainJson(const keyservice::Domain& d);
nlohmann::json CertificateJson(const keyservice::CertificateInfo& c);
nlohmann::json AuditJson(const keyservice::AuditRecord& r);
nlohmann::json TenantJson(const keyservice::Tenant& t);
nlohmann::json ResellerJson(const keyservice::Reseller& r);

// Prints the array (indented, one trailing newline); returns 0.
int PrintJson(const nlohmann::json& array);

// A JSON array of `items` converted by `to_json`, printed; returns 0.
template <typename T, typename F>
int PrintJsonList(const std::vector<T>& items, F to_json) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : items) out.push_back(to_json(i));
  return PrintJson(out);
}

}  // namespace sg::ctl
