// Roles of the gateway's gRPC API and who may call which method.
//
// A caller's role comes from its client certificate: the URI SAN
// spiffe://<trust_domain>/<role> (InternalCa issues these; an operator's
// own CA must put the same URI in). Roles:
//   worker   the crypto workers: signing identities and decryption keys
//            (the only role that ever receives private keys), certificate
//            lookups, harvest, trust anchors, change events, the
//            decryption failure guard;
//   admin    smimegatectl: every method except the two that return
//            private keys; also every method of any further service
//            registered on the server that has no rule (deny by default);
//   reader   lists and exports public material only (users, domains,
//            certificates, the CA, trust anchors, participation);
//   ingress  the MX listener's recipient check: Participates (and change
//            events, to cache answers).
//
// The table is deny by default: a method without a rule is PERMISSION_DENIED
// for everyone but admin; a rule names the other roles it opens the method
// to; a rule marked private_keys closes it to admin as well.
//
// Threading: a RoleTable is immutable once the server starts; Check is
// thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sg::keyservice {

inline constexpr std::string_view kRoleWorker = "worker";
inline constexpr std::string_view kRoleAdmin = "admin";
inline constexpr std::string_view kRoleReader = "reader";
inline constexpr std::string_view kRoleIngress = "ingress";

// The roles credentials can be issued for.
const std::vector<std::string>& IssuableRoles();
bool IsIssuableRole(const std::string& role);

struct MethodRule {
  std::string method;              // full gRPC path: "/smimegate.keyservice.v1.KeyService/Participates"
  std::vector<std::string> roles;  // allowed besides admin
  bool private_keys = false;       // returns private key material: admin excluded too
};

class RoleTable {
 public:
  RoleTable() = default;
  // The rules of the keyservice's KeyService and KeyAdmin services.
  static RoleTable KeyServiceDefault();

  // A later rule for the same method replaces the earlier one.
  void Add(MethodRule rule);
  void Add(const std::vector<MethodRule>& rules);

  struct Decision {
    bool allowed = false;
    std::string reason;  // why not, for the caller and the log
  };
  // `role` as the certificate names it (may be unknown).
  Decision Check(std::string_view method, std::string_view role) const;

 private:
  std::map<std::string, MethodRule, std::less<>> rules_;
};

// The role in a certificate's URI SANs: the path of the one URI under
// spiffe://<trust_domain>/. "" when there is none; kAmbiguousRole when
// there are several.
inline constexpr std::string_view kAmbiguousRole = "(several roles)";
std::string RoleFromUris(const std::vector<std::string>& uris, const std::string& trust_domain);

// "/pkg.KeyAdmin/PutUsers" -> "KeyAdmin/PutUsers" (for logs and the audit).
std::string ShortMethod(std::string_view method);

}  // namespace sg::keyservice
