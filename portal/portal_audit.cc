#include "portal/portal_audit.h"

#include <spdlog/spdlog.h>

namespace sg::portal {

void Audit::Record(const std::string& event, const std::string& address, const std::string& ip,
                   const std::string& message_id, const std::string& detail) {
  pb::AuditEvent e;
  e.set_time_ms(clock_.NowMs());
  e.set_event(event);
  e.set_address(address);
  e.set_ip(ip);
  e.set_message_id(message_id);
  e.set_detail(detail);
  spdlog::info("portal audit event={} address=<{}> ip={} message={} {}", event, address, ip,
               message_id, detail);
  if (auto s = store_.AppendAudit(e); !s.ok()) {
    spdlog::error("portal audit: cannot store the record: {}", s.error().ToString());
  }
}

}  // namespace sg::portal
