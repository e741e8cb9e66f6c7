// ReloadableTlsCredentials: the server credentials of the gateway's gRPC
// API: TLS that asks for a client certificate (and verifies it against the
// client CAs when one is sent), with two things gRPC's stock credentials do
// not do together:
//   - reload: the certificate, key and client CAs come from a
//     TlsMaterialSource and are loaded again on Reload() (SIGHUP) and when
//     the source reports a change (checked on new connections, at most once
//     per poll interval). New connections use the new material; established
//     ones keep theirs, so calls in flight never fail. Material that does
//     not load is logged and the previous one stays in use.
//   - authorization: every call passes RpcAuthorizer before its handler
//     (deny by default; UNAUTHENTICATED without a client certificate).
//
// Built on gRPC core's certificate-config fetcher and auth metadata
// processor (grpc/grpc_security.h), wrapped as a grpc::ServerCredentials
// (Debian 12's gRPC 1.51 has no public C++ wrapper for the fetcher). A
// client with a certificate from another CA, or without TLS, fails the TLS
// handshake and never reaches a method.
//
// Threading: Reload from any thread; the callbacks run on gRPC's threads.
// The object must outlive the server it is added to (RpcServer holds it).
#pragma once

#include <grpc/grpc_security.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <memory>
#include <mutex>

#include "common/result.h"
#include "keyservice/rpc_authorizer.h"
#include "keyservice/rpc_tls.h"

namespace sg::keyservice {

class ReloadableTlsCredentials final : public grpc::ServerCredentials {
 public:
  // Loads the material once (errors name the files) before any port is bound.
  static Result<std::shared_ptr<ReloadableTlsCredentials>> Create(
      std::unique_ptr<TlsMaterialSource> source, std::shared_ptr<RpcAuthorizer> authorizer,
      std::chrono::milliseconds poll_interval);
  ~ReloadableTlsCredentials() override;

  // Loads the material now; the next handshake uses it. On error the
  // previous material stays and the error says why.
  Status Reload();
  // How many times material was loaded (tests, logs).
  uint64_t generation() const;

  // The authorizer is built in; a second processor is a bug.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override;

 private:
  ReloadableTlsCredentials() = default;
  int AddPortToServer(const std::string& addr, grpc_server* server) override;
  static grpc_ssl_certificate_config_reload_status Fetch(void* self,
                                                         grpc_ssl_server_certificate_config** config);
  static void Process(void* self, grpc_auth_context* context, const grpc_metadata* md,
                      size_t num_md, grpc_process_auth_metadata_done_cb cb, void* user_data);

  mutable std::mutex mu_;
  std::unique_ptr<TlsMaterialSource> source_;
  std::shared_ptr<RpcAuthorizer> authorizer_;
  std::chrono::milliseconds poll_interval_{1000};
  std::chrono::steady_clock::time_point next_poll_{};
  TlsMaterial material_;
  uint64_t generation_ = 0;  // loads so far
  uint64_t handed_ = 0;      // the generation gRPC has
  grpc_server_credentials* creds_ = nullptr;
};

// The caller's identity as TLS established it (server side).
PeerIdentity PeerFromAuthContext(const grpc::AuthContext& context);

}  // namespace sg::keyservice
