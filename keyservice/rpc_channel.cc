#include "keyservice/rpc_channel.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace sg::keyservice {
namespace {

constexpr unsigned int kRefreshSeconds = 60;

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ClientCredentials& c) {
  namespace ex = grpc::experimental;
  std::shared_ptr<ex::CertificateProviderInterface> provider;
  bool identity = c.from_files() || !c.cert_pem.empty();
  if (c.from_files()) {
    provider = std::make_shared<ex::FileWatcherCertificateProvider>(c.key_file, c.cert_file, c.ca_file,
                                                                    kRefreshSeconds);
  } else if (identity) {
    provider = std::make_shared<ex::StaticDataCertificateProvider>(
        c.ca_pem, std::vector<ex::IdentityKeyCertPair>{{c.key_pem, c.cert_pem}});
  } else {
    provider = std::make_shared<ex::StaticDataCertificateProvider>(c.ca_pem);
  }
  ex::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  if (identity) options.watch_identity_key_cert_pairs();
  // The server's certificate must chain to the CA and name server_name
  // (gRPC's default hostname verifier, against the override below).
  return ex::TlsCredentials(options);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint,
                                           const ClientCredentials& credentials) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);  // trust anchor lists are large
  args.SetSslTargetNameOverride(credentials.server_name);
  return grpc::CreateCustomChannel(endpoint, MakeChannelCredentials(credentials), args);
}

}  // namespace sg::keyservice
