// The portal's audit trail: one record per login (and failed login),
// registration, reset, download, reply and delete, kept in the store (append
// only) and written to the log as "portal audit event=... address=... ip=...".
// No secret ever goes into a record (no password, code, token or content).
// Every field is stored and logged with its control characters escaped
// (AuditField), so a name taken from a message (an attachment's filename
// after RFC 2047/2231 decoding) cannot forge a log line or a record.
// Records are written without fsync (portal_store.h) and deleted after
// portal.audit_retention by the expiry run.
//
// Threading: thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "portal/portal_store.h"

namespace sg::portal {

// `value` with bytes below 0x20 and 0x7f written as \xHH and `\` as `\\`.
std::string AuditField(std::string_view value);

class Audit {
 public:
  Audit(PortalStore& store, const Clock& clock) : store_(store), clock_(clock) {}
  // A store failure is logged, never passed on: the action it records has
  // happened already.
  void Record(const std::string& event, const std::string& address, const std::string& ip,
              const std::string& message_id = {}, const std::string& detail = {});

 private:
  PortalStore& store_;
  const Clock& clock_;
};

}  // namespace sg::portal
