// The audit trail of the gateway's gRPC API: one record per call made with
// the admin role (who, what, arguments without secrets, result).
//
// AuditSink is where records go: the keyservice writes them to its store
// (KeyServiceImpl, column family "audit") and logs each as one line; the
// RPC layer (rpc_audit.h) produces them.
//
// Threading: Record is called from gRPC's threads, concurrently.
#pragma once

#include <cstdint>
#include <string>

namespace sg::keyservice {

struct AuditRecord {
  int64_t time_us = 0;    // unix microseconds
  std::string subject;    // the caller's certificate subject ("CN=admin@host,O=smimegate")
  std::string role;       // "admin"
  std::string method;     // "KeyAdmin/PutUsers"
  std::string arguments;  // the request as text, secrets redacted, bytes as length + SHA-256
  std::string result;     // gRPC status code name: "OK", "NOT_FOUND", ...
  std::string message;    // error message ("" on success)
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Must not fail the call it records: errors are logged and counted.
  virtual void Record(const AuditRecord& record) = 0;
};

}  // namespace sg::keyservice
