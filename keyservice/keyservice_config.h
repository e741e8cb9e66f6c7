// The `keyservice:` section of smimegate.yaml (docs/configuration.md).
//
// Threading: plain values; parse once at start-up.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/dns/dns_resolver.h"
#include "common/result.h"
#include "keyservice/cmp_config.h"
#include "keyservice/directory_config.h"
#include "keyservice/usage_report.h"

namespace sg::keyservice {

enum class KeyType { kRsa2048, kRsa3072, kRsa4096, kEcdsaP256, kEcdsaP384 };

// "rsa-2048" | "rsa-3072" | "rsa-4096" | "ecdsa-p256" | "ecdsa-p384"
std::string_view KeyTypeName(KeyType type);
Result<KeyType> ParseKeyType(const std::string& name);

// keyservice.domain_validation (docs/keyservice.md "Domain validation").
struct DomainValidationConfig {
  std::string record_label = "_smimegate-challenge";  // the TXT record is <label>.<domain>
  std::chrono::milliseconds valid_for{std::chrono::hours(24 * 365)};
  std::chrono::milliseconds recheck_after{std::chrono::hours(24 * 330)};  // < valid_for
  std::chrono::milliseconds retry_initial{std::chrono::minutes(1)};
  std::chrono::milliseconds retry_max{std::chrono::hours(6)};
  std::chrono::milliseconds pending_timeout{std::chrono::hours(24 * 7)};
};

// keyservice.issuance: first certificates issued in the background
// (issuance_queue.h, docs/keyservice.md "A first certificate and the
// worker's deadline").
struct IssuanceConfig {
  uint32_t max_concurrent = 4;  // issuances at once (threads)
  uint32_t max_queued = 1000;   // addresses waiting for a thread
  // How long GetSigningIdentity waits for a new certificate before it
  // answers `unavailable` (below the workers' 10 s keyservice deadline).
  std::chrono::milliseconds answer_within{std::chrono::seconds(3)};
  // How long a failure is answered from memory: transient (CA down) / other (refused).
  std::chrono::milliseconds retry_after{std::chrono::seconds(30)};
  std::chrono::milliseconds remember_refusal{std::chrono::minutes(10)};
};

struct CaConfig {
  std::string backend = "builtin";  // one of CaBackendNames() (ca_factory.h)
  std::string organization = "smimegate";  // subject O of the built-in CA
  KeyType key_type = KeyType::kEcdsaP384;  // of the built-in root and issuing CA
  std::chrono::hours validity{24 * 365};   // of issued certificates
  std::string crl_url;  // optional CRL distribution point put into issued certificates
  std::chrono::seconds crl_validity{std::chrono::hours(24 * 7)};  // crl_next_update: the CRL's nextUpdate
  CmpConfig cmp;  // backend "cmp" (cmp_ca.h): the public CA's CMP endpoint
  // keyservice.ca.domains: hosted domains whose certificates come from
  // another backend than the default one above (ca_router.h).
  std::vector<struct DomainCaConfig> domains;
};

// One entry of keyservice.ca.domains: `<domain>: {backend: ..., cmp: {...}}`.
// "builtin" here is the one built-in CA of the store (its settings are the
// default section's).
struct DomainCaConfig {
  std::string domain;  // normalised
  std::string backend;
  CmpConfig cmp;
};

// Mutual TLS of the gRPC API (docs/keyservice.md "Access").
struct KeyServiceTlsConfig {
  std::string server_name = "smimegate-keyservice";  // the name clients verify
  std::string trust_domain = "smimegate";  // roles: SAN URI spiffe://<trust_domain>/<role>
  // The keyservice's own certificate chain, key and the CAs client
  // certificates must chain to (PEM files, e.g. a Kubernetes Secret from
  // cert-manager): all three or none. None: the internal CA (created on
  // first start, key sealed in the store) issues the server certificate and
  // verifies clients.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::chrono::hours server_validity{24 * 30};   // internal server certificate
  std::chrono::hours client_validity{24 * 365};  // credentials issue, admin credentials
};

// keyservice.trust: where partner trust anchors come from besides the
// admin's own (docs/keyservice.md "Partner certificates and trust").
struct TrustSourcesConfig {
  bool mozilla_email = true;  // Mozilla's roots with the email trust bit, from NSS
  std::string mozilla_module;  // libnssckbi.so; "" = the one the build found
};

struct KeyServiceConfig {
  // gRPC API: "unix:PATH" (a Unix socket, mode 0600; relative to data_dir)
  // or "host:port" (TCP, the distributed mode). Mutual TLS on both.
  std::string listen = "unix:run/keyservice.sock";
  std::string endpoint;  // where clients connect; defaults to `listen`
  KeyServiceTlsConfig tls;
  // Where the keyservice writes credentials for the local admin on first
  // start (cert.pem, key.pem, ca.pem; mode 0600). "" = never.
  std::string admin_credentials;
  // Credentials this process's stages use as clients (workers: role
  // worker). "" = <data_dir>/credentials/<role>.
  std::string client_credentials;
  std::string data_dir;  // for the defaults above
  std::string store_path;  // default <data_dir>/keys
  std::string kek_file;  // 32 bytes: raw, 64 hex digits or base64; relative to data_dir
  std::string kek_env = "SMIMEGATE_KEK";  // used when kek_file is empty
  bool kek_create = false;  // create kek_file with a random key when missing (demo)
  std::string kek_format = "key";  // "key" (32 bytes) | "passphrase" (Argon2id)
  // The KEK being rotated away from (kek.h): accepted for opening until
  // `smimegatectl kek rotate` has re-sealed everything under kek_file/kek_env.
  std::string kek_previous_file;
  std::string kek_previous_env = "SMIMEGATE_KEK_PREVIOUS";  // used when set and no file
  std::string kek_previous_format;  // default: kek_format
  KeyType key_type = KeyType::kRsa2048;  // of user keys
  std::chrono::milliseconds rollover_before{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds rollover_check_interval{std::chrono::hours(1)};
  // The server-authentication bundle: off by default since Mozilla's email
  // roots (trust.mozilla_email) are the roots meant for S/MIME.
  bool system_roots = false;  // trust the system's root store for partner certificates
  std::string system_roots_file = "/etc/ssl/certs/ca-certificates.crt";
  TrustSourcesConfig trust;
  CaConfig ca;
  // keyservice.dns: servers ("host[:port]", default /etc/resolv.conf) and timeout.
  dns::ResolverOptions dns;
  DomainValidationConfig domain_validation;
  IssuanceConfig issuance;
  // keyservice.directory: directory sync sources (directory_config.h).
  DirectoryConfig directory;
  // keyservice.usage: volume tiers and the minimum participation (docs/usage.md).
  UsageRules usage;
};

// Parses `section` (the `keyservice` map; may be empty: all defaults).
// Relative paths resolve against data_dir.
Result<KeyServiceConfig> ParseKeyServiceConfig(const config::ConfigNode& section,
                                               const std::string& data_dir);

// The client credentials directory a stage with `role` uses.
std::string ClientCredentialsDir(const KeyServiceConfig& config, const std::string& role);

}  // namespace sg::keyservice
