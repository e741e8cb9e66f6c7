#include "keyservice/rpc_server.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "keyservice/rpc_audit.h"
#include "keyservice/rpc_authorizer.h"
#include "keyservice/rpc_server_credentials.h"

namespace sg::keyservice {
namespace {

bool IsUnix(const std::string& listen) { return listen.rfind("unix:", 0) == 0; }

// Whether a process accepts connections on the socket at `path`.
bool SocketInUse(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool in_use = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return in_use;
}

}  // namespace

Result<std::unique_ptr<RpcServer>> RpcServer::Create(RpcServerOptions options) {
  std::unique_ptr<RpcServer> s(new RpcServer());
  s->authorizer_ = std::make_shared<RpcAuthorizer>(std::move(options.roles), options.trust_domain,
                                                   options.registry);
  SG_ASSIGN_OR_RETURN(s->credentials_, ReloadableTlsCredentials::Create(
                                           std::move(options.tls), s->authorizer_, options.tls_poll));
  s->options_ = std::move(options);
  return s;
}

RpcServer::~RpcServer() { Stop(); }

void RpcServer::AddService(grpc::Service* service, const std::vector<MethodRule>& rules) {
  services_.push_back(service);
  authorizer_->AddRules(rules);
}

Status RpcServer::PrepareUnixSocket(const std::string& path) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  bool created = std::filesystem::create_directories(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError,
                     options_.config_key + ": cannot create " + dir.string() + ": " + ec.message());
  }
  if (created) ::chmod(dir.c_str(), 0700);
  if (std::filesystem::exists(path, ec)) {
    if (SocketInUse(path)) {
      return MakeError(ErrorCode::kUnavailable,
                       options_.config_key + ": unix:" + path +
                           " is in use by another process (another smimegate on the same data_dir?)");
    }
    std::filesystem::remove(path, ec);  // stale, from a process that died
  }
  return OkStatus();
}

Status RpcServer::Start() {
  const std::string& listen = options_.listen;
  std::string unix_path = IsUnix(listen) ? listen.substr(5) : "";
  if (!unix_path.empty()) SG_RETURN_IF_ERROR(PrepareUnixSocket(unix_path));
  grpc::ServerBuilder builder;
  // Never share a port with another process (gRPC sets SO_REUSEPORT by default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(listen, credentials_, &port);
  for (auto* service : services_) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options_.max_receive_bytes);
  builder.SetMaxSendMessageSize(options_.max_send_bytes);
  if (options_.audit != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    std::shared_ptr<RpcAuthorizer> authorizer = authorizer_;
    factories.push_back(MakeAuditInterceptorFactory(
        *options_.audit, options_.trust_domain, [authorizer](std::string_view method) {
          return authorizer->Allows(method, kRoleAdmin);
        }));
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return MakeError(ErrorCode::kUnavailable,
                     options_.config_key + ": cannot listen on " + listen +
                         (unix_path.empty() ? ": the port is in use by another process (another "
                                              "smimegate?) or the address is not local"
                                            : ": cannot create the socket"));
  }
  if (!unix_path.empty()) {
    // Owner only. Until this chmod the socket has the umask's mode; the TLS
    // handshake still demands a certificate from our CA.
    if (::chmod(unix_path.c_str(), 0600) != 0) {
      Stop();
      return MakeError(ErrorCode::kIoError, options_.config_key + ": cannot chmod 0600 " + unix_path);
    }
    bound_endpoint_ = listen;
  } else {
    bound_endpoint_ = listen.substr(0, listen.rfind(':') + 1) + std::to_string(port);
  }
  spdlog::info("rpc: gRPC API on {} (mutual TLS)", bound_endpoint_);
  return OkStatus();
}

void RpcServer::Stop() {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
  if (IsUnix(options_.listen)) {
    std::error_code ec;
    std::filesystem::remove(options_.listen.substr(5), ec);
  }
}

Status RpcServer::ReloadTls() { return credentials_->Reload(); }

uint64_t RpcServer::tls_generation() const { return credentials_->generation(); }

}  // namespace sg::keyservice
