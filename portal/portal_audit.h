// The portal's audit trail: one record per login (and failed login),
// registration, reset, download, reply and delete, kept in the store (append
// only) and written to the log as "portal audit event=... address=... ip=...".
// No secret ever goes into a record (no password, code, token or content).
//
// Threading: thread-safe.
#pragma once

#include <string>

#include "common/clock.h"
#include "portal/portal_store.h"

namespace sg::portal {

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
