// Client credentials of the gateway's gRPC API (mutual TLS): a client
// certificate whose URI SAN carries the role, its private key, and the CA
// that verifies the keyservice's server certificate.
//
// On disk they are a directory with three PEM files, each mode 0600, the
// directory 0700:
//   cert.pem  the client certificate (chain)
//   key.pem   its private key
//   ca.pem    the CA of the keyservice's certificate
// A Kubernetes TLS Secret mounted as a directory (tls.crt, tls.key, ca.crt,
// as cert-manager writes it) is read as well.
//
// Threading: free functions; no shared state.
#pragma once

#include <string>

#include "common/result.h"

namespace sg::keyservice {

struct ClientCredentials {
  // PEM in memory (tests, benchmarks), or ...
  std::string cert_pem;
  std::string key_pem;
  std::string ca_pem;
  // ... files, which gRPC re-reads when they change (rotation without restart).
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  // The name the keyservice's certificate must carry (keyservice.tls.server_name).
  std::string server_name = "smimegate-keyservice";

  bool from_files() const { return !cert_file.empty(); }
};

// The files in `dir`; kNotFound naming the missing file and ending with
// `fix` (how to get credentials, e.g. the smimegatectl command).
Result<ClientCredentials> CredentialsFromDir(const std::string& dir, const std::string& fix);

// Parses certificate, key and CA and checks that the key belongs to the
// certificate; kInvalidArgument naming the file (or "credentials") and what
// is wrong with it.
Status CheckClientCredentials(const ClientCredentials& credentials);

// The check behind both: `cert_pem` starts with a certificate, `key_pem` holds
// its private key, `ca_pem` at least one certificate; errors use the names.
Status CheckPemIdentity(const std::string& cert_pem, const std::string& key_pem,
                        const std::string& ca_pem, const std::string& cert_name,
                        const std::string& key_name, const std::string& ca_name);

// Writes cert.pem, key.pem and ca.pem into `dir` (created 0700): each file
// written to a temporary name, synced and renamed, mode 0600, so a process
// watching the directory never reads half a file.
Status WriteCredentialsDir(const std::string& dir, const std::string& cert_pem,
                           const std::string& key_pem, const std::string& ca_pem);

// A new P-256 key for credentials: PEM (PKCS#8) and SubjectPublicKeyInfo DER.
struct CredentialKey {
  std::string key_pem;
  std::string public_key_der;
};
Result<CredentialKey> GenerateCredentialKey();

// The role (URI SAN spiffe://<trust_domain>/<role>) and notAfter (unix
// seconds) of a PEM certificate; kInvalidArgument when it does not parse.
struct CertificateFacts {
  std::string role;
  std::string subject;
  int64_t not_after = 0;
};
Result<CertificateFacts> InspectCertificatePem(const std::string& pem, const std::string& trust_domain);

}  // namespace sg::keyservice
