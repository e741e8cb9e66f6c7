#include "ingress/ingress_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "common/mail/address.h"

namespace sg::ingress {
namespace {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Result<SockAddr> ParseAddress(const std::string& address, uint16_t port) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  std::string host = address;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "\"" + address + "\" is not a numeric IPv4 or IPv6 address");
}

void SetPort(SockAddr* a, uint16_t port) {
  if (a->ss.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a->ss)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&a->ss)->sin6_port = htons(port);
  }
}

std::string HostPort(const std::string& address, uint16_t port) {
  return (address.find(':') != std::string::npos && address.front() != '[')
             ? "[" + address + "]:" + std::to_string(port)
             : address + ":" + std::to_string(port);
}

}  // namespace

IngressServer::IngressServer(IngressConfig config, std::vector<std::string> hosted_domains,
                             IngressTopics topics, queue::Producer& producer,
                             metrics::Registry& registry,
                             std::shared_ptr<Authenticator> authenticator,
                             std::shared_ptr<MessageIdGenerator> ids)
    : config_(std::move(config)),
      hosted_domains_(std::move(hosted_domains)),
      topics_(std::move(topics)),
      producer_(producer),
      metrics_(registry),
      authenticator_(std::move(authenticator)),
      ids_(std::move(ids)),
      limiter_(config_.max_connections, config_.max_connections_per_ip) {
  if (!authenticator_ && !config_.auth_users.empty()) {
    authenticator_ = std::make_shared<Argon2Authenticator>(config_.auth_users);
  }
  if (!ids_) ids_ = std::make_shared<UlidGenerator>();
}

IngressServer::~IngressServer() { Stop(); }

Status IngressServer::Bind(ListenerRuntime& rt, int count, std::vector<int>* fds) {
  const ListenerConfig& l = rt.config;
  const std::string where = l.config_path + " (" + l.name + ")";
  auto addr = ParseAddress(l.address, l.port);
  if (!addr.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + l.config_path + ".address: " + addr.error().message);
  }
  auto fail = [&](int err, uint16_t port) -> Error {
    for (int fd : *fds) close(fd);
    fds->clear();
    if (err == EADDRINUSE) {
      return MakeError(ErrorCode::kUnavailable,
                       where + ": " + HostPort(l.address, port) + " is already in use");
    }
    if (err == EADDRNOTAVAIL) {
      return MakeError(ErrorCode::kUnavailable,
                       where + ": address " + l.address + " is not configured on this host");
    }
    if (err == EACCES) {
      return MakeError(ErrorCode::kPermissionDenied,
                       where + ": no permission to bind " + HostPort(l.address, port) +
                           " (ports below 1024 need root or CAP_NET_BIND_SERVICE)");
    }
    return MakeError(ErrorCode::kIoError,
                     where + ": cannot bind " + HostPort(l.address, port) + ": " +
                         std::strerror(err));
  };
  const int family = addr->ss.ss_family;
  uint16_t port = l.port;
  if (port != 0) {
    // SO_REUSEPORT would quietly share a port with another process of the
    // same user; a plain probe bind first makes a taken port a clear error.
    int probe = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    int rc = bind(probe, reinterpret_cast<sockaddr*>(&addr->ss), addr->len);
    int err = errno;
    close(probe);
    if (rc != 0) return fail(err, port);
  }
  for (int i = 0; i < count; ++i) {
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return fail(errno, port);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    SetPort(&*addr, port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr->ss), addr->len) != 0) {
      int err = errno;
      close(fd);
      return fail(err, port);
    }
    if (port == 0) {
      SockAddr got;
      got.len = sizeof got.ss;
      getsockname(fd, reinterpret_cast<sockaddr*>(&got.ss), &got.len);
      port = ntohs(got.ss.ss_family == AF_INET
                       ? reinterpret_cast<sockaddr_in*>(&got.ss)->sin_port
                       : reinterpret_cast<sockaddr_in6*>(&got.ss)->sin6_port);
    }
    fds->push_back(fd);
  }
  rt.bound_port = port;
  return OkStatus();
}

Status IngressServer::Start() {
  if (started_) return MakeError(ErrorCode::kInternal, "ingress started twice");
  started_ = true;
  std::set<std::string> hosted;
  for (const auto& d : hosted_domains_) hosted.insert(mail::DomainOf("@" + d));

  for (size_t i = 0; i < config_.listeners.size(); ++i) {
    const ListenerConfig& l = config_.listeners[i];
    auto rt = std::make_unique<ListenerRuntime>();
    rt->config = l;
    SessionConfig& s = rt->session;
    s.listener = l.name;
    s.role = l.role;
    s.hostname = config_.hostname;
    s.topic = l.role == Role::kMx ? topics_.inbound : topics_.outbound;
    s.tls_available = l.tls.has_value();
    s.require_tls = l.require_tls;
    s.auth_enabled = l.auth;
    s.max_message_size = config_.max_message_size;
    s.max_recipients = config_.max_recipients;
    s.max_bad_commands = config_.max_bad_commands;
    s.max_command_length = config_.max_command_length;
    s.max_line_length = config_.max_line_length;
    s.command_timeout = config_.command_timeout;
    s.data_timeout = config_.data_timeout;
    if (l.tls) {
      rt->tls = std::make_unique<TlsContextHolder>(*l.tls, l.config_path + ".tls");
      SG_RETURN_IF_ERROR(rt->tls->Load());
    }
    PolicyConfig policy;
    policy.trusted_networks = l.trusted_networks;
    policy.hosted_domains = hosted;
    policy.limiter = &limiter_;
    rt->steps = BuildSteps(s, policy);
    listeners_.push_back(std::move(rt));
  }

  int threads = config_.threads > 0 ? config_.threads
                                    : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  std::vector<std::vector<int>> fds(listeners_.size());
  for (size_t i = 0; i < listeners_.size(); ++i) {
    auto st = Bind(*listeners_[i], threads, &fds[i]);
    if (!st.ok()) {
      for (auto& v : fds) {
        for (int fd : v) close(fd);
      }
      return st;
    }
  }

  LoopDeps deps{&config_, &producer_, authenticator_.get(), ids_.get(), &metrics_};
  for (int t = 0; t < threads; ++t) {
    std::vector<std::pair<ListenerRuntime*, int>> sockets;
    for (size_t i = 0; i < listeners_.size(); ++i) {
      sockets.emplace_back(listeners_[i].get(), fds[i][static_cast<size_t>(t)]);
      fds[i][static_cast<size_t>(t)] = -1;
    }
    auto loop = std::make_unique<IngressLoop>(deps, t);
    Status st = loop->Start(std::move(sockets));
    loops_.push_back(std::move(loop));
    if (!st.ok()) {
      for (auto& v : fds) {
        for (int fd : v) {
          if (fd >= 0) close(fd);
        }
      }
      Stop();
      return st;
    }
  }
  for (const auto& rt : listeners_) {
    spdlog::info("ingress: listener {} ({}) on {} with {} loops{}{}", rt->config.name,
                 rt->config.role == Role::kMx ? "mx" : "relay",
                 HostPort(rt->config.address, rt->bound_port), threads,
                 rt->tls ? ", STARTTLS" : "", rt->config.auth ? ", AUTH" : "");
  }
  ready_ = true;
  return OkStatus();
}

void IngressServer::Stop() {
  ready_ = false;
  for (auto& loop : loops_) loop->Stop(config_.shutdown_grace);
  for (auto& loop : loops_) loop->Join();
  loops_.clear();
}

Status IngressServer::Reload() {
  Status first = OkStatus();
  for (const auto& rt : listeners_) {
    if (!rt->tls) continue;
    Status st = rt->tls->Load();
    if (!st.ok()) {
      spdlog::error("ingress: reload of {} failed, keeping the old certificate: {}",
                    rt->config.name, st.error().message);
      if (first.ok()) first = st;
    } else {
      spdlog::info("ingress: reloaded TLS certificate of listener {}", rt->config.name);
    }
  }
  return first;
}

uint16_t IngressServer::Port(const std::string& listener) const {
  for (const auto& rt : listeners_) {
    if (rt->config.name == listener) return rt->bound_port;
  }
  return 0;
}

}  // namespace sg::ingress
