#include "cmd/smimegatectl/ctl_json.h"

#include <iostream>

namespace sg::ctl {

nlohmann::json UserJson(const keyservice::User& u) {
  return {{"address", u.address}, {"participating", u.participating}, {"tenant", u.tenant}};
}

nlohmann::json DomainJson(const keyservice::Domain& d) {
  return {{"name", d.name},
          {"tenant", d.tenant},
          {"ca_backend", d.ca_backend},
          {"needs_validation", d.needs_validation},
          {"validation_state", d.validation_state},
          {"validated_at", d.validated_at},
          {"valid_until", d.valid_until},
          {"next_check_at", d.next_check_at},
          {"validation_reason", d.validation_reason},
          {"record_name", d.record_name},
          {"record_value", d.record_value}};
}

nlohmann::json CertificateJson(const keyservice::CertificateInfo& c) {
  return {{"fingerprint", c.fingerprint}, {"owner", c.owner},
          {"kind", c.kind},               {"subject", c.subject},
          {"issuer", c.issuer},           {"not_before", c.not_before},
          {"not_after", c.not_after},     {"has_private_key", c.has_private_key},
          {"current", c.current},         {"origin", c.origin}};
}

nlohmann::json AuditJson(const keyservice::AuditRecord& r) {
  return {{"time_us", r.time_us}, {"subject", r.subject},     {"role", r.role},
          {"method", r.method},   {"arguments", r.arguments}, {"result", r.result},
          {"message", r.message}};
}

nlohmann::json TenantJson(const keyservice::Tenant& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"reseller", t.reseller},
          {"created_at", t.created_at},
          {"domains", t.domains}};
}

nlohmann::json ResellerJson(const keyservice::Reseller& r) {
  return {{"id", r.id}, {"name", r.name}, {"created_at", r.created_at}, {"tenants", r.tenants}};
}

int PrintJson(const nlohmann::json& array) {
  // Invalid UTF-8 (a subject from a certificate) is replaced, never a throw.
  std::cout << array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace sg::ctl
