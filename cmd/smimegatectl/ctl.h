// smimegatectl's shared pieces: the global options, how it finds the
// keyservice (endpoint and admin credentials), and the helpers every
// command group uses. Each group lives in its own file (ctl_<group>.cc) and
// adds its subcommands with Add<Group>Commands(app, ctl).
//
// Exit codes: 0 ok, 1 the keyservice refused or failed, 2 usage or a local
// file (input or output) error, 3 keyservice unreachable.
//
// Threading: single-threaded.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config_node.h"
#include "common/result.h"
#include "keyservice/keyservice_grpc_client.h"

namespace sg::ctl {

namespace ks = sg::keyservice;

struct Globals {
  std::string home;
  std::string config;
  std::string endpoint;
  std::string credentials;  // directory with cert.pem, key.pem, ca.pem
  std::string cert, key, ca;
  std::string server_name;
  int timeout_s = 30;
};

// The configuration smimegatectl reads (--config, else <home>/smimegate.yaml;
// an empty document when there is none) and its data_dir, resolved like
// smimegate does.
struct LocatedConfig {
  config::ConfigDocument doc;
  std::string data_dir;
};
Result<LocatedConfig> LocateConfig(const Globals& g);

class Ctl {
 public:
  Globals globals;

  // The command's action, run once the keyservice is reached.
  void Run(std::function<int(ks::KeyServiceClient&)> action) { action_ = std::move(action); }
  // A command that is not a keyservice call (deadletter): runs as it is.
  void RunLocal(std::function<int()> action) { local_action_ = std::move(action); }
  bool has_action() const { return static_cast<bool>(action_) || static_cast<bool>(local_action_); }
  // The gateway's gRPC endpoint (--endpoint, else the config's keyservice
  // section) and a channel to it with the admin's credentials, for the
  // gateway's other gRPC services (QueueAdmin).
  Result<std::string> Endpoint() const;
  Result<std::shared_ptr<grpc::Channel>> AdminChannel(const std::string& endpoint) const;
  // Resolves endpoint and credentials (flags, then the config), connects
  // and runs the action.
  int Execute();

  // Option storage that must live as long as the parser.
  template <typename T>
  T& Keep() {
    auto p = std::make_shared<T>();
    kept_.push_back(p);
    return *p;
  }

 private:
  std::function<int(ks::KeyServiceClient&)> action_;
  std::function<int()> local_action_;
  std::vector<std::shared_ptr<void>> kept_;
};

// Prints "smimegatectl: <message>" and returns the exit code for the error.
int Fail(const Error& e);
// kInvalidArgument (exit 2) naming the file.
Result<std::string> ReadFile(const std::string& path);
// Writes `data` to `path`, or to stdout when empty; exit code 0 or 2 (with
// the message) when the file cannot be written completely.
int WriteOutput(const std::string& path, const std::string& data);
// "2026-12-06"
std::string Date(int64_t unix_seconds);
// "2026-12-06T10:00:00.123456Z"
std::string Timestamp(int64_t unix_micros);
std::string Pem(const std::string& der);
// An address, or a domain given with --domain ("@domain").
std::string Owner(const std::string& address, const std::string& domain);

void AddUserCommands(CLI::App& app, Ctl& ctl);
void AddDomainCommands(CLI::App& app, Ctl& ctl);
void AddCertCommands(CLI::App& app, Ctl& ctl);
void AddTrustCommands(CLI::App& app, Ctl& ctl);
void AddCaCommands(CLI::App& app, Ctl& ctl);
void AddKeyCommands(CLI::App& app, Ctl& ctl);
void AddCredentialsCommands(CLI::App& app, Ctl& ctl);
void AddAuditCommands(CLI::App& app, Ctl& ctl);
// ctl_queue.cc: queue summary|show|hold|release|delete|retry.
void AddQueueCommands(CLI::App& app, Ctl& ctl);
void AddKekCommands(CLI::App& app, Ctl& ctl);
void AddDeadLetterCommands(CLI::App& app, Ctl& ctl);  // ctl_deadletter.cc
void AddPortalCommands(CLI::App& app, Ctl& ctl);      // ctl_portal.cc
void AddTenantCommands(CLI::App& app, Ctl& ctl);      // ctl_tenant.cc: tenant, reseller
void AddTokenCommands(CLI::App& app, Ctl& ctl);       // ctl_token.cc: admin API tokens
// ctl_tenant_route.cc: tenant route set|clear|show, tenant bind|unbind|bindings
void AddTenantRouteCommands(CLI::App& tenant, Ctl& ctl);
void AddUsageCommands(CLI::App& app, Ctl& ctl);  // ctl_usage.cc: usage report|snapshot|set-total
// ctl_tenant_policy.cc: tenant policy show|set|clear, tenant branding show|set|clear
void AddTenantPolicyCommands(CLI::App& tenant, Ctl& ctl);
// ctl_policy_rules.cc: policy rules list|add|remove|clear (the registry's global rules)
void AddPolicyCommands(CLI::App& app, Ctl& ctl);
void AddDkimCommands(CLI::App& app, Ctl& ctl);  // ctl_dkim.cc: dkim keygen|list|activate|remove
// "force_encrypt:partner.example" -> {match, action}; kInvalidArgument naming `option`.
Result<ks::TenantRule> ParseRuleArg(const std::string& text, const std::string& option);

}  // namespace sg::ctl
