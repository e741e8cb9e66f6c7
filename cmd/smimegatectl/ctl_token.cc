// smimegatectl token add|list|revoke: the admin REST API's bearer tokens
// (docs/admin-api.md "Tokens and scopes"), over the keyservice's gRPC API
// (AdminTokens service, admin role).
#include <iostream>

#include "admin/admin_json.h"
#include "admin/admin_tokens_grpc.h"
#include "cmd/smimegatectl/ctl.h"
#include "cmd/smimegatectl/ctl_json.h"
#include "common/clock.h"

namespace sg::ctl {
namespace {

struct TokenArgs {
  std::string scope, name, id, expires;
  bool json = false;
};

admin::AdminTokensClient Client(ks::KeyServiceClient& c, const Ctl& ctl) {
  return {c.channel(), "the keyservice", std::chrono::seconds(ctl.globals.timeout_s)};
}

}  // namespace

void AddTokenCommands(CLI::App& app, Ctl& ctl) {
  auto& a = ctl.Keep<TokenArgs>();
  auto* token = app.add_subcommand("token", "admin REST API tokens (docs/admin-api.md)")
                    ->require_subcommand(1);
  auto* add = token->add_subcommand("add", "make a token; prints it once (only its hash is kept)");
  add->add_option("--scope", a.scope, "super | reseller:ID | tenant:ID")->required();
  add->add_option("--name", a.name, "what it is for (shown by list and in audit records)");
  add->add_option("--expires", a.expires,
                  "refused from then on: a duration from now (90d) or a UTC date (2027-03-01)");
  add->add_flag("--json", a.json, "a JSON object: token and its record");
  add->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto expires =
          admin::ParseTokenExpiry(a.expires, UnixSeconds(std::chrono::system_clock::now()));
      if (!expires.ok()) return Fail(expires.error());
      auto r = Client(c, ctl).Add(a.scope, a.name, *expires);
      if (!r.ok()) return Fail(r.error());
      if (a.json) {
        nlohmann::json j = admin::ToJson(r->info);
        j["token"] = r->token;
        return PrintJson(j);
      }
      std::cout << r->token << "\n";
      std::cerr << "token " << r->info.id << " (" << r->info.scope.ToString()
                << "): store it now, it is not shown again\n";
      return 0;
    });
  });
  auto* list = token->add_subcommand("list", "tokens: id, scope, name, created, state, expiry");
  list->add_flag("--json", a.json, "a JSON array (fields: docs/admin-api.md)");
  list->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = Client(c, ctl).List();
      if (!r.ok()) return Fail(r.error());
      if (a.json) return PrintJsonList(*r, [](const admin::TokenInfo& t) { return admin::ToJson(t); });
      const int64_t now = UnixSeconds(std::chrono::system_clock::now());
      for (const auto& t : *r) {
        std::string state = "valid";
        if (t.revoked_at != 0) {
          state = "revoked " + Date(t.revoked_at);
        } else if (t.expires_at != 0 && t.expires_at <= now) {
          state = "expired";
        }
        std::cout << t.id << "\t" << t.scope.ToString() << "\t" << (t.name.empty() ? "-" : t.name)
                  << "\t" << Date(t.created_at) << "\t" << state << "\t"
                  << (t.expires_at == 0 ? "expires never" : "expires " + Date(t.expires_at))
                  << "\n";
      }
      return 0;
    });
  });
  auto* revoke = token->add_subcommand("revoke", "revoke a token at once (it stays listed)");
  revoke->add_option("id", a.id, "the token's id (token list)")->required();
  revoke->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto st = Client(c, ctl).Revoke(a.id);
      if (!st.ok()) return Fail(st.error());
      std::cout << "token " << a.id << " revoked\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
