// Where the gRPC server's TLS material comes from: its certificate chain
// and key, and the CAs client certificates must chain to.
//
//   FileTlsSource      PEM files the operator supplies (cert-manager, a
//                      Kubernetes Secret): changed() when a file's inode,
//                      size or modification time changes, so a rotated
//                      Secret is picked up without a restart.
//   InternalTlsSource  a server certificate from the internal CA
//                      (internal_ca.h), issued fresh at every Load(), never
//                      on disk; changed() once a third of its validity is
//                      left.
// ReloadableTlsCredentials (rpc_server_credentials.h) calls Load() at start,
// on Reload() (SIGHUP) and when Changed() says so.
//
// Threading: Load and Changed are called from gRPC's handshake threads,
// serialised by the caller.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "keyservice/internal_ca.h"

namespace sg::keyservice {

struct TlsMaterial {
  std::string cert_chain_pem;
  std::string private_key_pem;
  std::string client_ca_pem;
};

class TlsMaterialSource {
 public:
  virtual ~TlsMaterialSource() = default;
  // Read and checked (chain parses, key belongs to it, CAs parse); errors
  // name the file and what is wrong.
  virtual Result<TlsMaterial> Load() = 0;
  // Cheap: whether Load() would give something new.
  virtual bool Changed() = 0;
  // For logs: "files /etc/tls/tls.crt ..." or "internal CA".
  virtual std::string Describe() const = 0;
};

std::unique_ptr<TlsMaterialSource> FileTlsSource(std::string cert_file, std::string key_file,
                                                 std::string client_ca_file);
// `ca` and `clock` are borrowed and must outlive the source.
std::unique_ptr<TlsMaterialSource> InternalTlsSource(const InternalCa& ca, std::string server_name,
                                                     std::chrono::hours validity, const Clock& clock);

// The checks Load() does, on material from anywhere.
Status CheckTlsMaterial(const TlsMaterial& material, const std::string& where);

}  // namespace sg::keyservice
