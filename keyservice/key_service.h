// KeyService: what crypto workers ask the keyservice for.
//
// Two implementations with the same behaviour:
//   - KeyServiceImpl (keyservice/key_service_impl.h): in-process, over the
//     RocksDB store; used by the embedded process (`smimegate run`) via
//     KeyServiceServer::local().
//   - KeyServiceClient (keyservice/key_service_client.h): gRPC, for workers
//     running in their own process.
//
// Everything crosses this interface as DER so that the keyservice does not
// depend on the S/MIME engine: certificates are X.509 DER, private keys
// PKCS#8 DER (load with d2i_AutoPrivateKey / d2i_PrivateKey_ex). Workers do
// the crypto themselves; they must not log or persist private keys.
//
// Change events: every write bumps a version number. A worker-side cache
// calls WaitForChanges(epoch, version, wait) in a loop (a long poll, also
// over gRPC) and drops the entries named in the events, or everything when
// `reset` is set (the keyservice restarted or the caller fell too far
// behind). See docs/keyservice.md.
//
// Threading: all methods are thread-safe and may block on I/O (store or
// network); call them from worker threads, not from an event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::keyservice {

// A private key with the certificate it signs with.
struct SigningIdentity {
  std::string address;
  std::string key_id;
  std::string private_key_der;        // PKCS#8
  std::string certificate_der;
  std::vector<std::string> chain_der;  // issuing CA first, root excluded; include in SignedData
};

struct DecryptionKey {
  std::string key_id;
  std::string owner;  // the address, or "@domain" for our domain key
  std::string private_key_der;  // PKCS#8
  std::string certificate_der;  // its certificate (issuer+serial / SKI select the recipient info)
};

struct EncryptionCertificate {
  std::string owner;  // the address, or "@domain" for a partner domain certificate
  std::string certificate_der;
  std::string smime_capabilities_der;  // DER SMIMECapabilities as harvested; may be empty
  std::vector<std::string> capabilities;  // announced algorithms (OIDs / short names), preferred first
  bool domain_certificate = false;
  // When the certificate above is the recipient's own and its domain also
  // has a partner domain certificate, that one too: mail from senders who do
  // not participate is encrypted with the domain certificate only.
  std::string domain_certificate_der;
  std::vector<std::string> domain_capabilities;
};

// A certificate found in an inbound signed message.
struct HarvestRequest {
  std::string address;  // the sender (From) it must name
  std::string certificate_der;  // the signer's certificate
  std::vector<std::string> chain_der;  // the other certificates of the SignedData
  std::string smime_capabilities_der;  // the signer's SMIMECapabilities attribute, if any
  // The same as parsed algorithm identifiers (dotted OIDs or OpenSSL short
  // names), preferred first; either or both may be given.
  std::vector<std::string> capabilities;
};

enum class HarvestOutcome {
  kStored,     // valid and trusted: used for encryption from now on
  kUnchanged,  // already known
  kPending,    // valid but from a CA nobody trusts yet: listed for the admin
  kRejected,   // expired, not yet valid, wrong purpose, wrong address, broken chain...
};
std::string_view HarvestOutcomeName(HarvestOutcome outcome);

struct HarvestResult {
  HarvestOutcome outcome = HarvestOutcome::kRejected;
  std::string reason;  // why it was rejected or is pending (for logs and metrics)
  std::string fingerprint;  // SHA-256 hex of the certificate
};

struct TrustAnchors {
  std::vector<std::string> der;  // system roots + admin-added + our own CA root
  uint64_t version = 0;  // changes whenever the set changes
};

struct ChangeEvent {
  uint64_t version = 0;
  // "user" | "domain" | "key" | "certificate" | "trust" | "tenant" | "reseller"
  // | "policy" (the global rules; subject "global")
  std::string kind;
  std::string subject;  // address, "@domain", fingerprint, or a tenant / reseller id
};

// A hosted domain and the tenant that owns it (docs/tenants.md).
struct HostedDomain {
  std::string name;    // lower case, A-labels
  std::string tenant;  // the tenant's id ("default" for the config file's hosted_domains)
};

// A tenant's inbound route (docs/tenants.md "Inbound routes"): mail to the
// tenant's domains goes to these hosts, in order, instead of the config
// file's egress.inbound. No hosts: no route of its own.
struct TenantRoute {
  std::string tenant;
  std::vector<std::string> hosts;     // "host", "host:port", "[v6]:port"
  std::string tls = "opportunistic";  // none | opportunistic | required | verify
};

// A relay client bound to a tenant in the registry (docs/tenants.md
// "Relay clients"): it may send as the tenant's domains only.
struct TenantBinding {
  std::string kind;    // user (SMTP AUTH name) | certificate (subject) | network (CIDR)
  std::string value;
  std::string tenant;
};

// A tenant's policy override (docs/tenants.md "Policy"); workers follow it.
// Empty strings inherit the config file's workers.policy.
struct TenantRule {
  std::string match;   // normalised address or domain
  std::string action;  // force_encrypt | exempt
};
struct TenantPolicy {
  std::string tenant;
  std::string web_encryption;           // "" (inherit) | on | off
  std::vector<TenantRule> rules{};      // first match wins, before workers.policy.rules
  std::string ca_backend;               // "" | a CA label (CaExport: "default" or a ca.domains key)
  std::vector<std::string> tags_off{};  // confidential | noenc | nosign | plain, sorted
  std::string strip_tags;               // "" (inherit: on) | on | off
  // "" (inherit workers.policy.header_protection.obscure_subject) | on | off
  std::string obscure_subject;
  bool empty() const {
    return web_encryption.empty() && rules.empty() && ca_backend.empty() && tags_off.empty() &&
           strip_tags.empty() && obscure_subject.empty();
  }
};

// What ingress and egress follow at run time, read in one call.
struct TenantRoutingTable {
  std::vector<HostedDomain> domains;
  std::vector<TenantRoute> routes;  // tenants with a route of their own only
  std::vector<TenantBinding> bindings;
  std::vector<TenantPolicy> policies;  // tenants with a policy override only
  // The registry's global rules (docs/tenants.md "Global rules"): after the
  // tenant's rules, before workers.policy.rules.
  std::vector<TenantRule> global_rules;
};

// A domain's active DKIM key (docs/dkim.md), for the worker that signs.
struct DkimSigningKey {
  std::string domain;  // lower case, A-labels
  std::string selector;
  std::string algorithm;        // "rsa" | "ed25519"
  std::string private_key_der;  // PKCS#8
};

struct Changes {
  uint64_t epoch = 0;    // random per keyservice start
  uint64_t version = 0;  // latest version; pass it back as after_version
  bool reset = false;    // drop the whole cache, then continue from `version`
  std::vector<ChangeEvent> events;
};

class KeyService {
 public:
  virtual ~KeyService() = default;

  // The key and certificate `address` signs with now. Issues a key and
  // certificate on first use when the user participates (concurrent first
  // calls get the same single key). nullopt when the address does not
  // participate (or is unknown). Errors: kInvalidArgument (malformed
  // address), kUnavailable (store or CA down: retry later).
  virtual Result<std::optional<SigningIdentity>> GetSigningIdentity(
      const std::string& address) = 0;

  // The certificate to encrypt to `address`: its own valid, trusted
  // certificate (newest), else the valid domain certificate of its domain.
  // nullopt when there is none.
  virtual Result<std::optional<EncryptionCertificate>> GetEncryptionCertificate(
      const std::string& address) = 0;

  // Every private key that may decrypt mail to a hosted `address`: all keys
  // the user ever had (expired ones too, newest first), then our domain
  // key(s) for its domain. Empty when there are none.
  virtual Result<std::vector<DecryptionKey>> GetDecryptionKeys(const std::string& address) = 0;

  // Whether `address` is a participating user.
  virtual Result<bool> Participates(const std::string& address) = 0;

  // Validates and stores a certificate from an inbound signed message. A
  // rejection is a normal outcome (kRejected with a reason), not an error.
  virtual Result<HarvestResult> HarvestCertificate(const HarvestRequest& request) = 0;

  // Trust anchors for verifying inbound signatures.
  virtual Result<TrustAnchors> GetTrustAnchors() = 0;

  // Long poll for change events after (epoch, after_version); returns at
  // once when there are some, else after `wait` with none.
  virtual Result<Changes> WaitForChanges(uint64_t epoch, uint64_t after_version,
                                         std::chrono::milliseconds wait) = 0;

  // Every hosted domain with its tenant, for ingress's runtime domain set
  // (it follows WaitForChanges events of kind "domain"). kUnsupported from
  // implementations without a registry (test fakes).
  virtual Result<std::vector<HostedDomain>> TenantDomains() {
    return MakeError(ErrorCode::kUnsupported, "this key service has no domain registry");
  }

  // The active DKIM key of `domain` (docs/dkim.md; events of kind "dkim",
  // subject "@domain", announce changes). nullopt when the domain has none;
  // also from implementations without DKIM keys (test fakes).
  virtual Result<std::optional<DkimSigningKey>> GetDkimKey(const std::string& domain) {
    (void)domain;
    return std::optional<DkimSigningKey>();
  }

  // The domains, tenant routes and relay-client bindings in one read
  // (ingress and egress follow it with WaitForChanges, kinds "domain" and
  // "tenant"). By default the domains only (implementations without routes).
  virtual Result<TenantRoutingTable> TenantRouting() {
    auto domains = TenantDomains();
    if (!domains.ok()) return domains.error();
    TenantRoutingTable out;
    out.domains = std::move(*domains);
    return out;
  }
};

}  // namespace sg::keyservice
