// smimegatectl portal list|purge|resend-link|account: the web-encryption portal's
// admin API (portal/portal_admin.h) on its Unix socket (portal.admin_socket,
// default <data_dir>/run/portal.sock; its file mode is the authentication,
// so this runs as the gateway's user on the gateway's machine).
//
// The distributed mode (`smimegate portal` in its own pod): `portal --portal
// HOST:PORT ...` asks the portal's TCP admin port (portal.admin.listen)
// instead, with mutual TLS: the admin credentials smimegatectl uses for the
// keyservice (--credentials DIR, --cert/--key/--ca, else
// keyservice.admin_credentials), verifying the server name smimegate-portal
// (the role portal's certificate), like `queue --egress`.
//
// Exit codes as for every group (ctl.h): 0 ok, 1 refused or failed, 2 usage,
// 3 the portal is not reachable.
#include <grpcpp/grpcpp.h>

#include <array>
#include <iostream>

#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "keyservice/rpc_role_portal.h"
#include "proto/portal.grpc.pb.h"

namespace sg::ctl {
namespace {

namespace pb = smimegate::portal::v1;

struct PortalArgs {
  std::string portal;  // HOST:PORT of portal.admin.listen; "" = the local socket
  std::string recipient, domain, id;
  uint32_t limit = 1000;
  bool account = false, expired = false, json = false;
};

Result<std::string> AdminSocket(const Globals& g) {
  SG_ASSIGN_OR_RETURN(LocatedConfig located, LocateConfig(g));
  SG_ASSIGN_OR_RETURN(auto portal, located.doc.Root().Map("portal"));
  SG_ASSIGN_OR_RETURN(std::string path, portal.String("admin_socket", "run/portal.sock"));
  return path.starts_with("/") ? path : located.data_dir + "/" + path;
}

// The portal's admin API: --portal HOST:PORT over mutual TLS with the
// admin credentials, else the local socket. Sets *where for messages.
Result<std::shared_ptr<grpc::Channel>> PortalChannel(Ctl& ctl, const std::string& portal,
                                                     std::string* where) {
  if (!portal.empty()) {
    *where = portal;
    // The same admin credentials; the server is a portal, not the keyservice.
    ctl.globals.server_name = std::string(keyservice::kPortalServerName);
    return ctl.AdminChannel(portal);
  }
  SG_ASSIGN_OR_RETURN(std::string socket, AdminSocket(ctl.globals));
  *where = "unix:" + socket;
  return grpc::CreateChannel(*where, grpc::InsecureChannelCredentials());
}

// Runs one call against the portal; prints the gRPC error and maps it to an exit code.
int Call(Ctl& ctl, const PortalArgs& a,
         const std::function<grpc::Status(pb::PortalAdmin::Stub&, grpc::ClientContext&)>& call) {
  std::string where;
  auto channel = PortalChannel(ctl, a.portal, &where);
  if (!channel.ok()) return Fail(channel.error());
  auto stub = pb::PortalAdmin::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(ctl.globals.timeout_s));
  grpc::Status s = call(*stub, context);
  if (s.ok()) return 0;
  std::cerr << "smimegatectl: portal at " << where << ": " << s.error_message() << "\n";
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                 s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
             ? 3
             : 1;
}

void List(CLI::App& portal, Ctl& ctl, PortalArgs& a) {
  auto* list = portal.add_subcommand("list", "stored messages: recipient, id, sender, times");
  list->add_option("--recipient", a.recipient, "one recipient's messages");
  list->add_option("--domain", a.domain, "the messages sent from this hosted domain");
  list->add_option("--limit", a.limit, "at most this many (default 1000)")->check(CLI::Range(1, 1000000));
  list->add_flag("--json", a.json, "a JSON array (fields: docs/tenants.md)");
  list->callback([&] {
    ctl.RunLocal([&] {
      pb::ListRequest req;
      req.set_recipient(a.recipient);
      req.set_domain(a.domain);
      req.set_limit(a.limit);
      pb::ListResponse resp;
      int rc = Call(ctl, a, [&](pb::PortalAdmin::Stub& stub, grpc::ClientContext& c) {
        return stub.List(&c, req, &resp);
      });
      if (rc != 0) return rc;
      if (resp.truncated()) std::cerr << "(more: raise --limit)\n";
      if (a.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& m : resp.messages()) {
          out.push_back({{"recipient", m.recipient()},       {"id", m.id()},
                         {"sender", m.sender()},             {"stored_at_ms", m.stored_at_ms()},
                         {"expires_at_ms", m.expires_at_ms()}, {"size", m.size()},
                         {"read", m.read()},                 {"notified", m.notified()}});
        }
        return PrintJson(out);
      }
      for (const auto& m : resp.messages()) {
        std::cout << m.recipient() << "\t" << m.id() << "\t" << m.sender() << "\t"
                  << Date(m.stored_at_ms() / 1000) << "\t" << Date(m.expires_at_ms() / 1000)
                  << "\t" << m.size() << "\t" << (m.read() ? "read" : "unread") << "\t"
                  << (m.notified() ? "notified" : "not-notified") << "\n";
      }
      return 0;
    });
  });
}

void Purge(CLI::App& portal, Ctl& ctl, PortalArgs& a) {
  auto* purge = portal.add_subcommand(
      "purge", "delete one message (--recipient --id), a recipient's messages, or the expired ones");
  purge->add_option("--recipient", a.recipient, "whose messages");
  purge->add_option("--id", a.id, "one message of --recipient");
  purge->add_flag("--account", a.account, "also delete the recipient's account");
  purge->add_flag("--expired", a.expired, "run the expiry now");
  purge->callback([&] {
    ctl.RunLocal([&] {
      if (a.recipient.empty() && !a.expired) {
        return Fail(MakeError(ErrorCode::kInvalidArgument, "portal purge needs --recipient or --expired"));
      }
      pb::PurgeRequest req;
      req.set_recipient(a.recipient);
      req.set_id(a.id);
      req.set_account(a.account);
      req.set_expired(a.expired);
      pb::PurgeResponse resp;
      int rc = Call(ctl, a, [&](pb::PortalAdmin::Stub& stub, grpc::ClientContext& c) {
        return stub.Purge(&c, req, &resp);
      });
      if (rc != 0) return rc;
      std::cout << "purged " << resp.messages() << " message(s)"
                << (resp.account_deleted() ? " and the account" : "") << "\n";
      return 0;
    });
  });
}

void ResendLink(CLI::App& portal, Ctl& ctl, PortalArgs& a) {
  auto* resend = portal.add_subcommand("resend-link", "a new notification with a new one-time link");
  resend->add_option("--recipient", a.recipient, "the recipient")->required();
  resend->add_option("--id", a.id, "the message (default: the newest)");
  resend->callback([&] {
    ctl.RunLocal([&] {
      pb::ResendLinkRequest req;
      req.set_recipient(a.recipient);
      req.set_id(a.id);
      pb::ResendLinkResponse resp;
      int rc = Call(ctl, a, [&](pb::PortalAdmin::Stub& stub, grpc::ClientContext& c) {
        return stub.ResendLink(&c, req, &resp);
      });
      if (rc != 0) return rc;
      std::cout << "sent a new link for " << resp.id() << ", valid until "
                << Date(resp.expires_ms() / 1000) << "\n";
      return 0;
    });
  });
}

// Seconds as a date, "-" for 0 (never).
std::string DateOrNever(int64_t ms) { return ms == 0 ? "-" : Date(ms / 1000); }

void PrintAccount(const pb::AccountInfo& a, bool json) {
  if (json) {
    PrintJson({{"recipient", a.address()},
               {"account", a.exists()},
               {"created_at_ms", a.created_ms()},
               {"password_changed_at_ms", a.password_changed_ms()},
               {"last_login_at_ms", a.last_login_ms()},
               {"totp", a.totp()},
               {"certificate", a.certificate()},
               {"language", a.language()},
               {"domain", a.domain()},
               {"locked", a.locked()},
               {"locked_until_ms", a.locked() ? a.locked_until_ms() : 0},
               {"failed_logins", a.failed_logins()},
               {"failed_totp_codes", a.failed_totp_codes()},
               {"messages", a.messages()}});
    return;
  }
  std::cout << "recipient:        " << a.address() << "\n"
            << "account:          " << (a.exists() ? "registered" : "none (messages only)") << "\n";
  if (a.exists()) {
    std::cout << "created:          " << DateOrNever(a.created_ms()) << "\n"
              << "password changed: " << DateOrNever(a.password_changed_ms()) << "\n"
              << "last login:       " << DateOrNever(a.last_login_ms()) << "\n"
              << "second factor:    " << (a.totp() ? "TOTP" : "none") << "\n"
              << "certificate:      " << (a.certificate() ? "registered" : "none") << "\n"
              << "first domain:     " << a.domain() << "\n";
  }
  std::cout << "login:            "
            << (a.locked() ? "locked until " + Date(a.locked_until_ms() / 1000) : "not locked")
            << " (" << a.failed_logins() << " failed passwords, " << a.failed_totp_codes()
            << " failed codes)\n"
            << "stored messages:  " << a.messages() << "\n";
}

// portal account show|logout|unlock RECIPIENT
void Account(CLI::App& portal, Ctl& ctl, PortalArgs& a) {
  auto* account =
      portal.add_subcommand("account", "a recipient's portal account")->require_subcommand(1);
  using Rpc = grpc::Status (pb::PortalAdmin::Stub::*)(grpc::ClientContext*,
                                                      const pb::AccountRequest&, pb::AccountInfo*);
  struct Verb {
    const char* name;
    const char* help;
    Rpc rpc;
    const char* done;  // printed after the change; nullptr: print the state
  };
  static constexpr std::array<Verb, 3> kVerbs = {{
      {"show", "created, last login, second factor, lock and failed logins, stored messages",
       &pb::PortalAdmin::Stub::AccountShow, nullptr},
      {"logout", "end every session of the account (the password stays)",
       &pb::PortalAdmin::Stub::AccountLogout, "logged out every session of "},
      {"unlock", "lift the login lock and clear the failed-login counts",
       &pb::PortalAdmin::Stub::AccountUnlock, "unlocked "},
  }};
  for (const Verb& verb : kVerbs) {
    auto* cmd = account->add_subcommand(verb.name, verb.help);
    cmd->add_option("recipient", a.recipient, "the recipient's address")->required();
    if (verb.done == nullptr) cmd->add_flag("--json", a.json, "one JSON object");
    cmd->callback([&ctl, &a, verb] {
      ctl.RunLocal([&] {
        pb::AccountRequest req;
        req.set_recipient(a.recipient);
        pb::AccountInfo resp;
        int rc = Call(ctl, a, [&](pb::PortalAdmin::Stub& stub, grpc::ClientContext& c) {
          return (stub.*verb.rpc)(&c, req, &resp);
        });
        if (rc != 0) return rc;
        if (verb.done == nullptr) {
          PrintAccount(resp, a.json);
        } else {
          std::cout << verb.done << resp.address() << "\n";
        }
        return 0;
      });
    });
  }
}

}  // namespace

void AddPortalCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<PortalArgs>();
  auto* portal = app.add_subcommand("portal", "the web-encryption portal's messages and accounts")
                     ->require_subcommand(1);
  portal->add_option("--portal", a.portal,
                     "HOST:PORT of a portal's admin port (portal.admin.listen; mutual TLS with "
                     "the admin credentials). Default: the local socket (portal.admin_socket)");
  List(*portal, ctl, a);
  Purge(*portal, ctl, a);
  ResendLink(*portal, ctl, a);
  Account(*portal, ctl, a);
}

}  // namespace sg::ctl
