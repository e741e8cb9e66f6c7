// RpcAuthorizer: the per-call check of the gateway's gRPC API. For every
// call, before the handler runs, it takes the caller's client certificate
// (verified against the client CAs by TLS) and the method, and answers
//   UNAUTHENTICATED    no client certificate;
//   PERMISSION_DENIED  a certificate without a role, with several, or whose
//                      role the RoleTable does not allow for the method;
//   OK                 with the role, which handlers and the audit read.
// Denials are counted (smimegate_rpc_denied_total{code, role}) and logged
// (at most one line a second; the rest are counted in the next line).
//
// Threading: Authorize is thread-safe (the table is immutable).
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "keyservice/rpc_roles.h"

namespace sg::keyservice {

struct PeerIdentity {
  bool has_certificate = false;
  std::string subject;            // "CN=worker-1,O=smimegate"
  std::vector<std::string> uris;  // URI SANs
};

class RpcAuthorizer {
 public:
  enum class Code { kOk, kUnauthenticated, kPermissionDenied };
  struct Verdict {
    Code code = Code::kPermissionDenied;
    std::string message;  // for the caller
    std::string role;
  };

  // `registry` may be null (no metrics).
  RpcAuthorizer(RoleTable table, std::string trust_domain, metrics::Registry* registry);

  Verdict Authorize(std::string_view method, const PeerIdentity& peer);
  // Whether `role` may call `method` (no counting, no logging).
  bool Allows(std::string_view method, std::string_view role) const {
    return table_.Check(method, role).allowed;
  }
  // Only before the server starts (the table is read without a lock).
  void AddRules(const std::vector<MethodRule>& rules) { table_.Add(rules); }

 private:
  void Deny(const Verdict& verdict, std::string_view method, const PeerIdentity& peer);

  RoleTable table_;
  std::string trust_domain_;
  metrics::Family<metrics::Counter>* denied_ = nullptr;
  std::atomic<int64_t> last_log_ms_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace sg::keyservice
