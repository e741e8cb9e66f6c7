// The audit trail of the gateway's gRPC API, as a server interceptor: every
// call made with the admin role, on any service registered on the server,
// becomes one AuditRecord (audit.h) once its status is known: the caller's
// certificate subject, the method, the request as text and the result.
//
// The request is rendered from the protobuf message by reflection (every
// service of the server speaks protobuf): fields marked
// [(smimegate.options.secret) = true] (proto/options.proto) print as
// <redacted>, bytes as their length and SHA-256 (a certificate's is its
// fingerprint), long text is cut at 4096 characters.
//
// Threading: interceptors run on gRPC's threads; the sink is thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <memory>
#include <string>

#include "keyservice/audit.h"

namespace google::protobuf {
class Message;
}

namespace sg::keyservice {

// `sink` is borrowed; the factory lives as long as the server. `admin_may_call`
// says for a method whether the admin role can call it at all: methods it
// cannot (those returning private keys) get no interceptor, which keeps the
// workers' key lookups on gRPC's plain path.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAuditInterceptorFactory(
    AuditSink& sink, std::string trust_domain,
    std::function<bool(std::string_view method)> admin_may_call);

// "owner: \"@example.com\" pkcs12: <redacted> password: <redacted>"
std::string DescribeRequest(const google::protobuf::Message& message);

}  // namespace sg::keyservice
