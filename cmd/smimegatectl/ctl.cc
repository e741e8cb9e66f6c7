#include "cmd/smimegatectl/ctl.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/config_node.h"
#include "keyservice/keyservice_config.h"
#include "keyservice/keyservice_x509.h"

namespace sg::ctl {

Result<LocatedConfig> LocateConfig(const Globals& g) {
  std::string home = g.home;
  if (home.empty()) {
    const char* env = std::getenv("SMIMEGATE_HOME");
    home = env && *env ? env : "./var";
  }
  std::error_code ec;
  home = std::filesystem::absolute(home, ec).lexically_normal().string();
  std::string config = g.config.empty() ? home + "/smimegate.yaml" : g.config;
  if (!std::filesystem::exists(config)) {
    if (!g.config.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "--config " + config + ": not found");
    }
    SG_ASSIGN_OR_RETURN(auto empty, config::ConfigDocument::LoadString("{}", "defaults"));
    return LocatedConfig{std::move(empty), home};  // no config: the defaults under home
  }
  SG_ASSIGN_OR_RETURN(auto doc, config::ConfigDocument::LoadFile(config));
  std::string config_dir =
      std::filesystem::absolute(config, ec).parent_path().lexically_normal().string();
  SG_ASSIGN_OR_RETURN(std::string data_dir, doc.Root().String("data_dir", config_dir));
  if (!data_dir.empty() && data_dir[0] != '/') {
    data_dir = (std::filesystem::path(config_dir) / data_dir).lexically_normal().string();
  }
  return LocatedConfig{std::move(doc), data_dir};
}

namespace {

struct Connection {
  std::string endpoint;
  ks::ClientCredentials credentials;
};

// The keyservice section of the config (defaults when there is no config
// file), with data_dir resolved like smimegate does.
Result<ks::KeyServiceConfig> LoadKeyServiceConfig(const Globals& g) {
  SG_ASSIGN_OR_RETURN(LocatedConfig located, LocateConfig(g));
  SG_ASSIGN_OR_RETURN(auto section, located.doc.Root().Map("keyservice"));
  return ks::ParseKeyServiceConfig(section, located.data_dir);
}

Result<Connection> Resolve(const Globals& g) {
  SG_ASSIGN_OR_RETURN(ks::KeyServiceConfig cfg, LoadKeyServiceConfig(g));
  Connection c;
  c.endpoint = g.endpoint.empty() ? cfg.endpoint : g.endpoint;
  if (!g.cert.empty() || !g.key.empty() || !g.ca.empty()) {
    if (g.cert.empty() || g.key.empty() || g.ca.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "--cert, --key and --ca go together");
    }
    c.credentials.cert_file = g.cert;
    c.credentials.key_file = g.key;
    c.credentials.ca_file = g.ca;
  } else {
    std::string dir = g.credentials.empty() ? cfg.admin_credentials : g.credentials;
    auto found = ks::CredentialsFromDir(
        dir,
        "smimegatectl needs admin credentials: the keyservice writes them for the local admin at "
        "its first start (keyservice.admin_credentials, default <data_dir>/credentials/admin; "
        "give --home or --config to find them); elsewhere an admin creates them with "
        "`smimegatectl credentials issue --role admin --out DIR`, then pass --credentials DIR "
        "(or --cert, --key and --ca)");
    if (!found.ok()) return MakeError(ErrorCode::kInvalidArgument, found.error().message);
    c.credentials = *found;
  }
  c.credentials.server_name = g.server_name.empty() ? cfg.tls.server_name : g.server_name;
  return c;
}

}  // namespace

Result<std::string> Ctl::Endpoint() const {
  SG_ASSIGN_OR_RETURN(ks::KeyServiceConfig cfg, LoadKeyServiceConfig(globals));
  return globals.endpoint.empty() ? cfg.endpoint : globals.endpoint;
}

Result<std::shared_ptr<grpc::Channel>> Ctl::AdminChannel(const std::string& endpoint) const {
  SG_ASSIGN_OR_RETURN(Connection connection, Resolve(globals));
  SG_ASSIGN_OR_RETURN(auto client, ks::KeyServiceClient::Create(endpoint, connection.credentials,
                                                                std::chrono::seconds(globals.timeout_s)));
  return client->channel();
}

int Ctl::Execute() {
  if (local_action_) return local_action_();
  if (!action_) return 2;
  auto connection = Resolve(globals);
  if (!connection.ok()) return Fail(connection.error());
  auto client = ks::KeyServiceClient::Create(connection->endpoint, connection->credentials,
                                             std::chrono::seconds(globals.timeout_s));
  if (!client.ok()) return Fail(client.error());
  return action_(**client);
}

int Fail(const Error& e) {
  std::cerr << "smimegatectl: " << e.message << "\n";
  if (e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kTimeout) return 3;
  if (e.code == ErrorCode::kInvalidArgument) return 2;
  return 1;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, path + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int WriteOutput(const std::string& path, const std::string& data) {
  if (path.empty()) {
    std::cout << data;
    std::cout.flush();
    return std::cout ? 0 : Fail(MakeError(ErrorCode::kInvalidArgument, "cannot write to stdout"));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (out) out.close();
  if (!out) {
    return Fail(MakeError(ErrorCode::kInvalidArgument,
                          "--out " + path + ": cannot write the file: " + std::strerror(errno)));
  }
  return 0;
}

std::string Date(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

std::string Timestamp(int64_t us) {
  time_t tt = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lldZ", static_cast<long long>(us % 1000000));
  return std::string(buf) + frac;
}

std::string Pem(const std::string& der) {
  auto x = ks::ParseCertificateDer(der);
  return x.ok() ? ks::CertificateToPem(x->get()) : std::string();
}

std::string Owner(const std::string& address, const std::string& domain) {
  return domain.empty() ? address : "@" + domain;
}

}  // namespace sg::ctl
