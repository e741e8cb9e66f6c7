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

#include "common/cpu_quota.h"
#include "common/mail/address.h"
#include "ingress/ingress_port_check.h"
#include "ingress/ingress_recipient_ldap.h"
#include "ingress/ingress_recipient_sources.h"
#include "common/tls_selfsigned.h"

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
      limiter_(config_.max_connections, config_.max_connections_per_ip),
      budget_(config_.max_bytes_in_flight, &metrics_.BytesInFlight()),
      auth_user_limit_(config_.auth_lockout_user),
      auth_client_limit_(config_.auth_lockout_client),
      rcpt_limit_(config_.recipient_verification.unknown_limit) {
  if (!authenticator_ && !config_.auth_users.empty()) {
    authenticator_ = std::make_shared<Argon2Authenticator>(config_.auth_users);
  }
  if (!ids_) ids_ = std::make_shared<UlidGenerator>();
  std::set<std::string> hosted;
  for (const auto& d : hosted_domains_) hosted.insert(mail::DomainOf("@" + d));
  runtime_domains_ = std::make_shared<HostedDomains>(hosted);
}

void IngressServer::ReplaceHostedDomains(HostedDomains::Map domains) {
  runtime_domains_->Replace(std::move(domains));
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
    rt.socket_inodes.insert(SocketInode(fd));
  }
  rt.bound_port = port;
  return OkStatus();
}

Status IngressServer::BuildRecipientVerifier(const std::set<std::string>& hosted) {
  const RecipientVerificationConfig& rv = config_.recipient_verification;
  if (rv.domains.empty()) return OkStatus();
  verifier_ = std::make_unique<RecipientVerifier>(rv.cache, &metrics_);
  for (const RecipientDomainConfig& d : rv.domains) {
    if (d.domain != "*" && hosted.count(d.domain) == 0) {
      return MakeError(ErrorCode::kInvalidArgument, "config " + d.config_path + ".domain: " +
                                                        d.domain + " is not a hosted domain");
    }
    std::vector<std::shared_ptr<RecipientSource>> sources;
    for (const std::string& name : d.sources) {
      if (name == "registry") {
        if (user_registry_ == nullptr) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "config " + d.config_path + ".sources: \"registry\" needs the "
                           "keyservice, which this process cannot reach");
        }
        sources.push_back(std::make_shared<RegistrySource>(*user_registry_));
      } else if (name == "list") {
        SG_ASSIGN_OR_RETURN(auto list, ListSource::Open(d.list_file, d.config_path + ".list"));
        sources.push_back(std::move(list));
      } else if (name == "ldap") {
        SG_ASSIGN_OR_RETURN(auto ldap, LdapSource::Open(*d.ldap, d.config_path + ".ldap"));
        sources.push_back(std::move(ldap));
      } else {
        CalloutConfig callout = *d.callout;
        callout.helo = config_.hostname;
        sources.push_back(std::make_shared<CalloutSource>(std::move(callout)));
      }
    }
    verifier_->SetSources(d.domain, std::move(sources));
  }
  recipient_pool_ = std::make_unique<BlockingPool>("sg-ingress-rcpt", rv.threads, 1024);
  return OkStatus();
}

Result<ListenerTlsConfig> IngressServer::SelfSignedFiles(const ListenerConfig& l) {
  if (config_.data_dir.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "config " + l.config_path + ": STARTTLS needs a certificate: add a tls "
                     "section, or set starttls: false (there is no data_dir for a self-signed "
                     "one)");
  }
  const std::string dir = config_.data_dir + "/ingress";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  SG_ASSIGN_OR_RETURN(ListenerTlsConfig files,
                      tls::EnsureSelfSignedCertificate(dir, config_.hostname, now));
  spdlog::warn("ingress: listener {} has no TLS certificate configured; STARTTLS uses a "
               "self-signed certificate for {} ({}), which senders cannot verify. Configure "
               "{}.tls with a certificate from a public CA",
               l.name, config_.hostname, files.cert_file, l.config_path);
  return files;
}

Status IngressServer::Start() {
  if (started_) return MakeError(ErrorCode::kInternal, "ingress started twice");
  started_ = true;
  std::set<std::string> hosted;
  for (const auto& d : hosted_domains_) hosted.insert(mail::DomainOf("@" + d));
  SG_RETURN_IF_ERROR(config_.sender_bindings.CheckWithin(hosted));
  SG_RETURN_IF_ERROR(BuildRecipientVerifier(hosted));

  for (size_t i = 0; i < config_.listeners.size(); ++i) {
    const ListenerConfig& l = config_.listeners[i];
    auto rt = std::make_unique<ListenerRuntime>();
    rt->config = l;
    SessionConfig& s = rt->session;
    s.listener = l.name;
    s.role = l.role;
    s.hostname = config_.hostname;
    s.topic = l.role == Role::kMx ? topics_.inbound : topics_.outbound;
    s.require_tls = l.require_tls;
    s.auth_enabled = l.auth;
    s.max_message_size = config_.max_message_size;
    s.max_recipients = config_.max_recipients;
    s.max_bad_commands = config_.max_bad_commands;
    s.max_command_length = config_.max_command_length;
    s.max_line_length = config_.max_line_length;
    s.max_received_headers = config_.max_received_headers;
    s.command_timeout = config_.command_timeout;
    s.data_timeout = config_.data_timeout;
    s.ipv6_client_prefix = config_.ipv6_client_prefix;
    if (l.tls) {
      rt->tls = std::make_unique<TlsContextHolder>(*l.tls, l.config_path + ".tls");
      SG_RETURN_IF_ERROR(rt->tls->Load());
    } else if (l.starttls) {
      SG_ASSIGN_OR_RETURN(ListenerTlsConfig files, SelfSignedFiles(l));
      rt->tls = std::make_unique<TlsContextHolder>(files, l.config_path + " (self-signed)");
      SG_RETURN_IF_ERROR(rt->tls->Load());
    }
    s.tls_available = rt->tls != nullptr;
    PolicyConfig policy;
    policy.trusted_networks = l.trusted_networks;
    policy.hosted_domains = hosted;
    policy.runtime_domains = runtime_domains_;
    policy.limiter = &limiter_;
    policy.sender_bindings = config_.sender_bindings;
    policy.sender_bindings.AttachRuntime(runtime_domains_);
    policy.relay_default_senders = l.senders;
    if (policy.relay_default_senders) policy.relay_default_senders->runtime = runtime_domains_;
    if (l.senders) SG_RETURN_IF_ERROR(l.senders->CheckWithin(hosted));
    if (l.role == Role::kRelay && !l.senders && hosted.size() > 1 &&
        (!l.trusted_networks.empty() || (l.tls && !l.tls->client_ca_file.empty()))) {
      spdlog::warn("ingress: relay listener {} lets trusted-network and certificate clients "
                   "without a sender binding send as every hosted domain; bind them with "
                   "ingress.sender_bindings or {}.senders",
                   l.name, l.config_path);
    }
    rt->steps = BuildSteps(s, policy);
    listeners_.push_back(std::move(rt));
  }

  // Default: one event loop per CPU the process may use (its cgroup quota).
  int threads = config_.threads > 0 ? config_.threads : static_cast<int>(AvailableCpus());
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

  auth_pool_ = std::make_unique<BlockingPool>("sg-ingress-auth", config_.auth_threads, 256);
  LoopDeps deps{&config_,          &producer_,         authenticator_.get(), ids_.get(),
                &metrics_,         &budget_,           auth_pool_.get(),     recipient_pool_.get(),
                &auth_user_limit_, &auth_client_limit_, verifier_.get(), &rcpt_limit_};
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
  // Our sockets listen now: nobody else may be in their SO_REUSEPORT group.
  for (const auto& rt : listeners_) {
    auto shared = ForeignListenerSharesPort(rt->socket_inodes);
    if (!shared.ok()) {
      spdlog::warn("ingress: cannot check that {} is ours alone: {}", rt->config.name,
                   shared.error().message);
    } else if (*shared) {
      const std::string where = rt->config.config_path + " (" + rt->config.name + ")";
      const std::string port = HostPort(rt->config.address, rt->bound_port);
      Stop();
      return MakeError(ErrorCode::kUnavailable,
                       where + ": " + port + " is already in use (another process listens "
                       "on it too)");
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

void IngressServer::RequestStop() {
  ready_ = false;
  for (auto& loop : loops_) loop->Stop(config_.shutdown_grace);  // posts; a second one is a no-op
}

void IngressServer::Stop() {
  RequestStop();
  for (auto& loop : loops_) loop->Join();
  loops_.clear();
  // Waits for a check or lookup still running: nothing the pools use (the
  // authenticator, the keyservice behind the user registry) may go first.
  auth_pool_.reset();
  recipient_pool_.reset();
}

Status IngressServer::Reload() {
  Status first = verifier_ ? verifier_->Reload() : OkStatus();
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
