// RpcServer: the gateway's gRPC server. Mutual TLS on every connection
// (ReloadableTlsCredentials: reloaded on SIGHUP and on change), the role
// check on every call, deny by default (rpc_roles.h), one audit record per
// admin call (rpc_audit.h), and no shared ports.
//
//   auto rpc = RpcServer::Create(options);            // loads TLS material
//   rpc->AddService(&key_service, rules);             // one call per service
//   rpc->AddService(&queue_admin);                    // no rules: admin only
//   rpc->Start();                                     // binds
//
// Listening: "host:port" (TCP; port 0 picks a free one) or "unix:/path" (a
// Unix socket, mode 0600 in a directory created 0700; a stale socket file
// is replaced, a live one is an error). gRPC's SO_REUSEPORT is off, so a
// second server on a taken port fails instead of silently sharing it; the
// error names the address.
//
// Threading: Create/AddService/Start/Stop from one thread; ReloadTls from
// any (the SIGHUP handler's).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "keyservice/audit.h"
#include "keyservice/rpc_roles.h"
#include "keyservice/rpc_tls.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace sg::keyservice {

class ReloadableTlsCredentials;
class RpcAuthorizer;

struct RpcServerOptions {
  std::string listen;                         // "host:port" or "unix:/absolute/path"
  std::string config_key = "keyservice.listen";  // names the setting in errors
  std::string trust_domain = "smimegate";
  std::unique_ptr<TlsMaterialSource> tls;
  RoleTable roles;                            // rules for the services added later too
  AuditSink* audit = nullptr;                 // borrowed; null: no audit
  metrics::Registry* registry = nullptr;      // borrowed; null: no metrics
  std::chrono::milliseconds tls_poll{1000};   // how often handshakes check the files
  int max_receive_bytes = 16 << 20;           // PKCS#12 files, certificate bundles
  int max_send_bytes = 64 << 20;              // trust anchor lists
};

class RpcServer {
 public:
  // Errors: the TLS material does not load (naming the files).
  static Result<std::unique_ptr<RpcServer>> Create(RpcServerOptions options);
  ~RpcServer();

  // Before Start. `service` is borrowed and must outlive the server; `rules`
  // open some of its methods to roles other than admin.
  void AddService(grpc::Service* service, const std::vector<MethodRule>& rules = {});

  Status Start();
  void Stop();
  // SIGHUP: TLS material again (the previous stays on error).
  Status ReloadTls();
  uint64_t tls_generation() const;

  // "127.0.0.1:40123" (the real port when configured with 0) or "unix:/path".
  std::string bound_endpoint() const { return bound_endpoint_; }

 private:
  RpcServer() = default;
  Status PrepareUnixSocket(const std::string& path);

  RpcServerOptions options_;
  std::shared_ptr<RpcAuthorizer> authorizer_;
  std::shared_ptr<ReloadableTlsCredentials> credentials_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  std::string bound_endpoint_;
};

}  // namespace sg::keyservice
