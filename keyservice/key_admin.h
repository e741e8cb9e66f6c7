// KeyAdmin: management of users, domains, certificates, trust and keys, as
// used by smimegatectl (over gRPC: KeyAdminClient) and tests (in-process:
// KeyServiceImpl implements it too).
//
// Threading: thread-safe; calls may block on the store or the network.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/audit.h"

namespace sg::keyservice {

struct User {
  std::string address;
  bool participating = true;
  std::string tenant;
};

struct Domain {
  std::string name;
  std::string tenant;
  // Read-only, filled by ListDomains and ValidateDomain (domain_validation.h).
  std::string ca_backend{};         // the backend certifying the domain's addresses
  bool needs_validation = false;  // that backend is a public CA
  std::string validation_state{};   // "" (never requested) | "pending" | "valid" | "failed"
  int64_t validated_at = 0;       // unix seconds
  int64_t valid_until = 0;
  int64_t next_check_at = 0;
  std::string validation_reason{};
  std::string record_name{};   // the TXT record to publish
  std::string record_value{};
};

struct CertificateInfo {
  std::string fingerprint;  // SHA-256 hex of the DER
  std::string owner;        // address, "@domain", or "" for trust anchors
  std::string kind;  // "own" | "own-domain" | "partner" | "partner-domain" | "pending" | "trust"
  std::string subject;
  std::string issuer;
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;
  bool has_private_key = false;
  bool current = false;  // the one used now (signing / encryption)
  std::string der;
  std::string origin;  // trust anchors: "mozilla-email" | "system" | "own-ca" | "admin" | "approved"
};

// Every trust anchor with its origin, and where the fixed bundles came from.
struct TrustSourceList {
  std::vector<CertificateInfo> anchors;  // kind "trust", origin set
  std::string mozilla_origin;            // "" when Mozilla's email roots are off
  int64_t mozilla_extracted_at = 0;      // unix seconds
  std::string system_file;               // "" when keyservice.system_roots is off
};

struct PutUsersResult {
  uint32_t added = 0;
  uint32_t updated = 0;
};

struct TrustAddResult {
  std::vector<std::string> fingerprints;
  uint32_t promoted_pending = 0;
};

struct KeyImportResult {
  std::string key_id;
  std::string fingerprint;
};

struct RevokeResult {
  std::string revoked_serial;       // hex
  std::string revoked_fingerprint;  // SHA-256 of the revoked certificate
  KeyImportResult replacement;      // the new key and certificate
};

struct CaCertificates {
  std::string root_der;     // the default backend's
  std::string issuing_der;
  struct Labelled {
    std::string label;  // "default" or a domain of keyservice.ca.domains
    std::string backend;
    std::string root_der;
    std::string issuing_der;
  };
  std::vector<Labelled> all;  // every CA, the default first
};

struct KekRotationResult {
  uint32_t resealed = 0;         // records re-sealed under the current KEK by this run
  uint32_t already_current = 0;  // private keys that were sealed under it already
  std::string kek_id;            // the current KEK's id (kek.h)
};

// A client certificate for the keyservice API (smimegatectl credentials issue).
struct CredentialsRequest {
  std::string role;            // "worker" | "admin" | "reader" | "ingress"
  std::string name;            // subject CN
  std::string public_key_der;  // the caller keeps the private key
  uint32_t validity_days = 0;  // 0: keyservice.tls.client_validity
};

struct IssuedCredentials {
  std::string certificate_pem;
  std::string ca_pem;  // verifies the keyservice's server certificate
};

class KeyAdmin {
 public:
  virtual ~KeyAdmin() = default;

  // Adds or updates users (all or nothing). kInvalidArgument names the bad
  // address; kNotFound when its domain is not hosted.
  virtual Result<PutUsersResult> PutUsers(const std::vector<User>& users) = 0;
  // Removes the user from the registry; their keys stay for decryption.
  virtual Status RemoveUser(const std::string& address) = 0;
  virtual Result<std::vector<User>> ListUsers(const std::string& domain) = 0;

  virtual Status AddDomain(const Domain& domain) = 0;
  virtual Result<std::vector<Domain>> ListDomains() = 0;
  // Starts the DNS validation of a hosted domain (or shows the running one):
  // the returned domain names the TXT record to publish. kNotFound when the
  // domain is not hosted.
  virtual Result<Domain> ValidateDomain(const std::string& domain) = 0;

  // owner and kind filter when non-empty.
  virtual Result<std::vector<CertificateInfo>> ListCertificates(const std::string& owner,
                                                                const std::string& kind) = 0;
  // Partner certificates imported by the admin (trusted by that act): for an
  // address, or "@domain" for a partner domain certificate.
  virtual Result<std::vector<std::string>> ImportCertificates(
      const std::string& owner, const std::vector<std::string>& der) = 0;

  virtual Result<TrustAddResult> TrustAdd(const std::vector<std::string>& der) = 0;
  // Trusts the top certificate of a pending certificate's chain.
  virtual Result<TrustAddResult> TrustApprovePending(const std::string& fingerprint) = 0;
  virtual Status TrustRemove(const std::string& fingerprint) = 0;
  // Every anchor in use with its origin (smimegatectl trust list --source).
  virtual Result<TrustSourceList> TrustSources() = 0;

  virtual Result<CaCertificates> CaExport() = 0;

  // A PKCS#12 (modern or legacy RC2/3DES encodings) for a hosted address or
  // "@domain" (our domain key). The key becomes the current signing key when
  // its certificate is valid; older keys stay for decryption.
  virtual Result<KeyImportResult> ImportKey(const std::string& owner, const std::string& pkcs12,
                                            const std::string& password) = 0;
  // Issues a new key and certificate for `address` now.
  virtual Result<KeyImportResult> Rollover(const std::string& address) = 0;

  // A client certificate with a role, from the internal CA. kInvalidArgument
  // for an unknown role, a bad name or public key; kUnsupported when client
  // certificates come from the operator's CA (keyservice.tls.client_ca_file).
  virtual Result<IssuedCredentials> IssueCredentials(const CredentialsRequest& request) = 0;
  // Audit records since `since_us` (unix microseconds), oldest first, at most `limit`.
  virtual Result<std::vector<AuditRecord>> ListAudit(int64_t since_us, uint32_t limit) = 0;
  // Re-seals every stored private key under the current KEK (kek.h).
  virtual Result<KekRotationResult> RotateKek() = 0;
  // Revokes |address|'s current certificate at the CA that issued it, with
  // an RFC 5280 CRLReason name ("keyCompromise", "superseded", ...), then
  // issues a new key and certificate (a fresh request, not a key update
  // signed with the old key). Nothing changes when the CA refuses or is
  // unreachable (the error says why; run it again). kInvalidArgument: an
  // unknown reason, or a certificate the CA did not issue (imported);
  // kNotFound: no such user or no current certificate.
  virtual Result<RevokeResult> RevokeKey(const std::string& address, const std::string& reason) = 0;
};

}  // namespace sg::keyservice
