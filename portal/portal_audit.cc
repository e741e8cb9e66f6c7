#include "portal/portal_audit.h"

#include <spdlog/spdlog.h>

namespace sg::portal {

std::string AuditField(std::string_view value) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

void Audit::Record(const std::string& event, const std::string& address, const std::string& ip,
                   const std::string& message_id, const std::string& detail) {
  pb::AuditEvent e;
  e.set_time_ms(clock_.NowMs());
  e.set_event(AuditField(event));
  e.set_address(AuditField(address));
  e.set_ip(AuditField(ip));
  e.set_message_id(AuditField(message_id));
  e.set_detail(AuditField(detail));
  spdlog::info("portal audit event={} address=<{}> ip={} message={} {}", e.event(), e.address(),
               e.ip(), e.message_id(), e.detail());
  if (auto s = store_.AppendAudit(e); !s.ok()) {
    spdlog::error("portal audit: cannot store the record: {}", s.error().ToString());
  }
}

}  // namespace sg::portal
