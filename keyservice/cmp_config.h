// The `keyservice.ca.cmp` section: how the CMP backend (cmp_ca.h) reaches
// a public CA's managed-PKI endpoint (RFC 4210/9480, Lightweight CMP
// profile RFC 9483). docs/configuration.md lists every key.
//
// Threading: plain values; parsed once at start-up.
#pragma once

#include <chrono>
#include <string>

#include "common/config_node.h"
#include "common/result.h"

namespace sg::keyservice {

struct CmpConfig {
  // "http://ca.example:8080/pkix/" (https:// is refused until the CMP
  // client is given a TLS context; CMP messages are protected end to end).
  std::string url;
  // "mac": a shared secret (PBMAC) with the reference the CA gave;
  // "signature": a client certificate and key the CA issued for the gateway.
  std::string protection = "mac";
  std::string reference;  // senderKID for MAC protection
  std::string secret_file;  // the shared secret (first line); never logged
  std::string secret_env = "SMIMEGATE_CMP_SECRET";  // used when secret_file is empty
  std::string client_cert_file;  // signature protection (PEM)
  std::string client_key_file;   // signature protection (PEM, unencrypted, mode 0600)
  // Pinned: the certificate that signs the CA's responses (required with
  // signature protection), the issuing CA sent with our signatures and the
  // root that issued certificates must chain to (partners install it).
  std::string server_cert_file;
  std::string issuing_cert_file;
  std::string root_cert_file;
  std::chrono::milliseconds message_timeout{std::chrono::seconds(30)};
  // Bounds a whole exchange including polling for delayed issuance.
  std::chrono::milliseconds total_timeout{std::chrono::minutes(2)};
};

// `node` is the `cmp` map (required keys: url, issuing_cert_file,
// root_cert_file; server_cert_file with signature protection, reference
// with MAC). Paths are returned as written (ParseKeyServiceConfig resolves
// them against data_dir). The files are read by the backend when it
// starts, not here.
Result<CmpConfig> ParseCmpConfig(const config::ConfigNode& node);

}  // namespace sg::keyservice
