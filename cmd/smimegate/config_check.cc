#include "cmd/smimegate/config_check.h"

#include <netdb.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "common/tls_server.h"
#include "egress/egress_tls.h"
#include "keyservice/credentials_files.h"
#include "keyservice/kek_check.h"
#include "keyservice/rpc_role_egress.h"
#include "keyservice/rpc_role_portal.h"

namespace sg::app {
namespace {

bool Runs(Stage stage, Stage part) { return stage == Stage::kAll || stage == part; }

bool RunsPortal(const AppConfig& c, Stage stage) {
  return stage == Stage::kPortal || (stage == Stage::kAll && c.portal.enabled);
}

struct PortUse {
  std::string key;  // "ingress.listeners[0]"
  std::string address;
  int port = 0;
};

std::vector<PortUse> PortsOf(const AppConfig& c, Stage stage) {
  std::vector<PortUse> ports{{"metrics", c.metrics.address, c.metrics.port}};
  if (Runs(stage, Stage::kIngress)) {
    for (const auto& l : c.ingress.listeners) ports.push_back({l.config_path, l.address, l.port});
  }
  const std::string& listen = c.keyservice.listen;
  if (Runs(stage, Stage::kKeyService) && listen.rfind("unix:", 0) != 0) {
    const size_t colon = listen.rfind(':');
    if (colon != std::string::npos) {
      std::string host = listen.substr(0, colon);
      if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
      int port = 0;
      std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port);
      ports.push_back({"keyservice.listen", host, port});
    }
  }
  if (RunsPortal(c, stage)) ports.push_back({"portal", c.portal.address, c.portal.port});
  // Only a separately started egress (portal) serves egress.admin
  // (portal.admin); `run` serves both admins in process.
  if (stage == Stage::kEgress && !c.egress.admin.listen.empty()) {
    if (auto hp = egress::ParseHostPort(c.egress.admin.listen, 0); hp.ok()) {
      ports.push_back({"egress.admin.listen", hp->host, hp->port});
    }
  }
  if (stage == Stage::kPortal && !c.portal.admin.listen.empty()) {
    if (auto hp = egress::ParseHostPort(c.portal.admin.listen, 0); hp.ok()) {
      ports.push_back({"portal.admin.listen", hp->host, hp->port});
    }
  }
  return ports;
}

// Binds a throw-away socket to the port; errno of the failure, 0 on success.
int TryBind(const PortUse& p) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(p.port);
  if (getaddrinfo(p.address.empty() ? nullptr : p.address.c_str(), port.c_str(), &hints,
                  &found) != 0 ||
      found == nullptr) {
    return EADDRNOTAVAIL;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  const int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const int rc = bind(fd, found->ai_addr, found->ai_addrlen) == 0 ? 0 : errno;
  close(fd);
  return rc;
}

void CheckPorts(const AppConfig& c, Stage stage, DeploymentCheck& out) {
  std::set<std::pair<std::string, int>> taken;
  for (const auto& p : PortsOf(c, stage)) {
    if (p.port == 0) continue;  // an ephemeral port: nothing to collide with
    const std::string where = p.key + " " + p.address + ":" + std::to_string(p.port);
    if (!taken.emplace(p.address, p.port).second) {
      out.errors.push_back(where + ": another listener of this configuration uses the same "
                                   "address and port");
      continue;
    }
    const int err = TryBind(p);
    if (err == 0) continue;
    if (err == EACCES) {
      out.errors.push_back(where + ": permission denied (ports below 1024 need root or the "
                                   "NET_BIND_SERVICE capability)");
    } else if (err == EADDRINUSE) {
      out.warnings.push_back(where + ": in use right now (by a running gateway?)");
    } else {
      out.errors.push_back(where + ": cannot bind: " + std::strerror(err));
    }
  }
}

// The first certificate of a PEM file; nullptr when there is none.
std::unique_ptr<X509, decltype(&X509_free)> LeafOf(const std::string& file) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(nullptr, X509_free);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_file(file.c_str(), "r"), BIO_free_all);
  if (bio) cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  return cert;
}

void CheckCertificate(const tls::ServerFiles& files, const std::string& where,
                      std::chrono::system_clock::time_point now, DeploymentCheck& out) {
  auto ctx = tls::LoadServerContext(files, where, "check-config");
  if (!ctx.ok()) {
    out.errors.push_back(ctx.error().message);
    return;
  }
  auto leaf = LeafOf(files.cert_file);
  if (!leaf) return;  // LoadServerContext read it; nothing more to say
  time_t t = std::chrono::system_clock::to_time_t(now);
  const ASN1_TIME* not_after = X509_get0_notAfter(leaf.get());
  if (X509_cmp_time(not_after, &t) <= 0) {
    out.errors.push_back(where + ": certificate " + files.cert_file + " has expired");
    return;
  }
  t = std::chrono::system_clock::to_time_t(now + std::chrono::hours(24 * 14));
  if (X509_cmp_time(not_after, &t) <= 0) {
    out.warnings.push_back(where + ": certificate " + files.cert_file +
                           " expires within 14 days");
  }
}

void CheckCertificates(const AppConfig& c, Stage stage,
                       std::chrono::system_clock::time_point now, DeploymentCheck& out) {
  if (Runs(stage, Stage::kIngress)) {
    for (const auto& l : c.ingress.listeners) {
      if (l.tls) CheckCertificate(*l.tls, l.config_path + ".tls", now, out);
    }
  }
  const auto& ks = c.keyservice.tls;
  if (Runs(stage, Stage::kKeyService) && !ks.cert_file.empty()) {
    CheckCertificate({ks.cert_file, ks.key_file, ks.client_ca_file}, "keyservice.tls", now, out);
  }
  if (RunsPortal(c, stage) && c.portal.tls) {
    CheckCertificate(*c.portal.tls, "portal.tls", now, out);
  }
}

// A stage's own admin port (`<stage>.admin`, common/admin_listener_config.h)
// and the identity it must serve with.
struct StageAdmin {
  const AdminListenerConfig& config;
  std::string key;               // "egress.admin"
  std::string_view role;         // the role its certificate carries
  std::string_view server_name;  // the name its clients verify
  std::string client;            // who verifies it, for the message
};

// A separately started stage's admin port: the three files are there, load
// as a TLS server identity, and the certificate is that stage's identity
// (its role, and the name its clients verify).
void CheckStageAdmin(const StageAdmin& s, const std::string& trust_domain,
                     std::chrono::system_clock::time_point now, DeploymentCheck& out) {
  const auto& a = s.config;
  const std::string fix = "; fix: `smimegatectl credentials issue --role " + std::string(s.role) +
                          " --out DIR` and point " + s.key +
                          ".tls.cert_file/key_file/client_ca_file at DIR's cert.pem, key.pem, "
                          "ca.pem (or leave " +
                          s.key + ".listen empty)";
  bool missing = false;
  for (const auto& [key, file] : {std::pair{"cert_file", a.cert_file},
                                  {"key_file", a.key_file},
                                  {"client_ca_file", a.client_ca_file}}) {
    if (::access(file.c_str(), R_OK) != 0) {
      std::string error = s.key + ".tls." + key + ": cannot read " + file;
      error += ": ";
      error += std::strerror(errno);
      error += fix;
      out.errors.push_back(std::move(error));
      missing = true;
    }
  }
  if (missing) return;
  const size_t before = out.errors.size();
  CheckCertificate({a.cert_file, a.key_file, a.client_ca_file}, s.key + ".tls", now, out);
  for (size_t i = before; i < out.errors.size(); ++i) out.errors[i] += fix;
  if (out.errors.size() > before) return;
  std::stringstream pem;
  pem << std::ifstream(a.cert_file).rdbuf();
  auto facts = keyservice::InspectCertificatePem(pem.str(), trust_domain);
  const std::string where = s.key + ".tls.cert_file: certificate " + a.cert_file;
  if (facts.ok() && facts->role != s.role) {
    out.errors.push_back(where + " carries " +
                         (facts->role.empty()
                              ? "no role (URI SAN spiffe://" + trust_domain + "/<role>)"
                              : "the role " + facts->role) +
                         ", not " + std::string(s.role) + fix);
    return;
  }
  auto leaf = LeafOf(a.cert_file);
  const std::string name(s.server_name);
  if (leaf && X509_check_host(leaf.get(), name.data(), name.size(), 0, nullptr) != 1) {
    out.errors.push_back(where + " is not issued for the name " + name + ", which " + s.client +
                         " verifies" + fix);
  }
}

// egress.admin of a separately started egress (`smimegatectl queue
// --egress`) and portal.admin of a separately started portal (the
// keyservice's REST API and `smimegatectl portal --portal`).
void CheckStageAdmins(const AppConfig& c, Stage stage, std::chrono::system_clock::time_point now,
                      DeploymentCheck& out) {
  const std::string& trust_domain = c.keyservice.tls.trust_domain;
  if (stage == Stage::kEgress && !c.egress.admin.listen.empty()) {
    CheckStageAdmin({c.egress.admin, "egress.admin", keyservice::kRoleEgress,
                     keyservice::kEgressServerName, "`smimegatectl queue --egress`"},
                    trust_domain, now, out);
  }
  if (stage == Stage::kPortal && !c.portal.admin.listen.empty()) {
    CheckStageAdmin(
        {c.portal.admin, "portal.admin", keyservice::kRolePortal, keyservice::kPortalServerName,
         "the keyservice's REST API (keyservice.admin_api.portal.server_name)"},
        trust_domain, now, out);
  }
}

// egress.mta_sts.ca_file: the trust anchors of policy fetches and of MX
// hosts under a policy load as at the first delivery (egress_tls.h).
void CheckMtaSts(const AppConfig& c, Stage stage, DeploymentCheck& out) {
  const auto& sts = c.egress.mta_sts;
  if (!Runs(stage, Stage::kEgress) || !sts.enabled || sts.ca_file.empty()) return;
  egress::TlsPolicy policy{egress::TlsMode::kRequired, true, sts.ca_file};
  if (auto ctx = egress::TlsClientContext::Create(policy); !ctx.ok()) {
    out.errors.push_back("egress.mta_sts.ca_file: " + ctx.error().message +
                         "; fix: a readable PEM file of CA certificates, or remove the key to use "
                         "the system trust store");
  }
}

}  // namespace

DeploymentCheck CheckDeployment(const AppConfig& config, Stage stage,
                                std::chrono::system_clock::time_point now) {
  DeploymentCheck out;
  if (Runs(stage, Stage::kKeyService)) {
    if (auto s = keyservice::CheckKekSource(config.keyservice); !s.ok()) {
      out.errors.push_back(s.error().message);
    }
  }
  CheckPorts(config, stage, out);
  CheckCertificates(config, stage, now, out);
  CheckStageAdmins(config, stage, now, out);
  CheckMtaSts(config, stage, out);
  return out;
}

}  // namespace sg::app
