// gRPC channels to the gateway's gRPC API over mutual TLS: the client
// certificate from ClientCredentials (credentials_files.h), the server
// verified against their CA and keyservice.tls.server_name.
//
// Threading: free functions; channels are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "keyservice/credentials_files.h"

namespace grpc {
class Channel;
class ChannelCredentials;
}  // namespace grpc

namespace sg::keyservice {

// Credentials from files are watched by gRPC (re-read every minute when
// they change: a rotated client certificate is used without a restart).
// Without a client certificate (empty cert_pem and no files) the channel
// is TLS without client authentication; the server answers UNAUTHENTICATED.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ClientCredentials& credentials);

// `endpoint`: "host:port" or "unix:/path".
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint,
                                           const ClientCredentials& credentials);

}  // namespace sg::keyservice
