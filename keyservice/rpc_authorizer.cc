#include "keyservice/rpc_authorizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sg::keyservice {
namespace {

// Label values stay bounded whatever a client sends.
std::string RoleLabel(const std::string& role) {
  if (role.empty()) return "none";
  return IsIssuableRole(role) ? role : "other";
}

// Method names come from the client: printable and short in logs.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

RpcAuthorizer::RpcAuthorizer(RoleTable table, std::string trust_domain, metrics::Registry* registry)
    : table_(std::move(table)), trust_domain_(std::move(trust_domain)) {
  if (registry != nullptr) {
    denied_ = &registry->AddCounter("smimegate_rpc_denied_total",
                                    "gRPC calls refused by the role check, by status code and "
                                    "the caller's role",
                                    {"code", "role"});
  }
}

RpcAuthorizer::Verdict RpcAuthorizer::Authorize(std::string_view method, const PeerIdentity& peer) {
  Verdict v;
  if (!peer.has_certificate) {
    v.code = Code::kUnauthenticated;
    v.message = "no client certificate: the keyservice API needs credentials (smimegatectl "
                "credentials issue --role ROLE --out DIR)";
    Deny(v, method, peer);
    return v;
  }
  v.role = RoleFromUris(peer.uris, trust_domain_);
  if (v.role.empty()) {
    v.message = "the client certificate (" + peer.subject + ") carries no role (URI SAN spiffe://" +
                trust_domain_ + "/ROLE)";
  } else if (v.role == kAmbiguousRole) {
    v.message = "the client certificate (" + peer.subject + ") carries several roles";
  } else {
    RoleTable::Decision d = table_.Check(method, v.role);
    if (d.allowed) {
      v.code = Code::kOk;
      return v;
    }
    v.message = d.reason;
  }
  v.code = Code::kPermissionDenied;
  Deny(v, method, peer);
  return v;
}

void RpcAuthorizer::Deny(const Verdict& v, std::string_view method, const PeerIdentity& peer) {
  std::string code = v.code == Code::kUnauthenticated ? "UNAUTHENTICATED" : "PERMISSION_DENIED";
  if (denied_ != nullptr) denied_->WithLabels({code, RoleLabel(v.role)}).Inc();
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  int64_t last = last_log_ms_.load();
  if (now - last < 1000 || !last_log_ms_.compare_exchange_strong(last, now)) {
    suppressed_.fetch_add(1);
    return;
  }
  uint64_t more = suppressed_.exchange(0);
  spdlog::warn("rpc: {} {} for {} ({}): {}{}", code, Printable(method),
               peer.has_certificate ? Printable(peer.subject) : "a client without certificate",
               v.role.empty() ? "no role" : "role " + Printable(v.role), v.message,
               more ? " (" + std::to_string(more) + " more refused calls not logged)" : "");
}

}  // namespace sg::keyservice
