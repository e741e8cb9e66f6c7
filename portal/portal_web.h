// The portal's HTTPS server (docs/portal.md "Pages" and "Web security"):
// cpp-httplib's SSLServer on a thread pool, with the TLS settings every
// smimegate listener uses (common/tls_server.h), and the pages:
//
//   GET  /l/<token>             a message link: registration form (first
//   POST /l/<token>             visit) or login form; POST registers
//   GET  /login  POST /login    address + password; GET/POST /login/totp
//   POST /logout
//   GET  /reset  POST /reset    ask for a reset link (same answer for all)
//   GET  /r/<token> POST ...    set a new password through the link
//   GET  /inbox                 the recipient's messages, newest first
//   GET  /m/<id>                a message; /m/<id>/body its HTML (sandboxed
//                               iframe, own CSP); /m/<id>/a/<n>, /eml,
//                               /smime downloads; POST /m/<id>/remote,
//                               /delete; GET/POST /m/<id>/reply
//   GET  /settings              TOTP, S/MIME certificate, language
//   GET  /static/style.css, /brand/<domain>.css, /brand/<domain>/logo
//   GET  /healthz
//
// Every response carries HSTS, a strict Content-Security-Policy,
// X-Content-Type-Options, Referrer-Policy, frame-ancestors / X-Frame-
// Options and Cache-Control: no-store. Every POST needs the session's CSRF
// token (and a same-origin Origin header when the browser sends one). A
// message is always looked up by (logged-in recipient, id): another
// recipient's id is 404, like one that does not exist.
//
// Errors: no exception leaves a handler (each is wrapped; httplib's own
// exception handler answers 500 without details as a last resort); storage
// failures show "try again later" with status 503.
//
// Threading: handlers run on the server's pool; everything they use is
// thread-safe. Start/Stop from the owning service.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "portal/portal_accounts.h"
#include "portal/portal_audit.h"
#include "portal/portal_brand.h"
#include "portal/portal_config.h"
#include "portal/portal_links.h"
#include "portal/portal_metrics.h"
#include "portal/portal_outbox.h"
#include "portal/portal_sessions.h"
#include "portal/portal_templates.h"
#include "portal/portal_vault.h"
#include "portal/portal_web_client.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sg::portal {

struct WebDeps {
  const PortalConfig& config;
  std::vector<std::string> hosted_domains;
  PortalVault& vault;
  const Templates& templates;
  Sessions& sessions;
  Accounts& accounts;
  Links& links;
  Outbox& outbox;
  Audit& audit;
  PortalMetrics& metrics;
  const Clock& clock;
  const Brands& brands;  // the config's brands with the tenants' (portal_brand.h)
};

class PortalWeb {
 public:
  explicit PortalWeb(WebDeps deps);
  ~PortalWeb();

  // Loads the certificate (configured, else self-signed under tls_dir),
  // binds and starts serving. kUnavailable naming the address when the
  // port is taken; kInvalidArgument for certificate files.
  Status Start();
  void Stop();
  bool Ready() const;
  int port() const { return port_; }

  // One request in flight, as the handlers see it (portal_web_*.cc).
  struct Call;

 private:
  using Handler = void (PortalWeb::*)(Call&);
  Status MakeServer();
  void ConfigureServer();
  // Before httplib reads a body (review R3): 0 to go on, else the status of
  // the refusal (411, 413).
  int CheckBody(const httplib::Request& req);
  // The request's client (the peer, or X-Forwarded-For from a trusted proxy).
  Client ClientOf(const httplib::Request& req) const;
  void RegisterRoutes();
  Status Bind();
  void Route(const std::string& method, const std::string& pattern, const std::string& page,
             Handler handler, bool needs_login);
  Status Serve(Call& call, Handler handler, bool needs_login);

  // portal_web.cc: the pieces every page uses
  Status EnsureSession(Call& call);
  // The brand of the page (a link's domain): also its language when the
  // reader has none of their own (not logged in).
  void SetBrand(Call& call, const std::string& brand);
  bool CheckCsrf(Call& call);
  void Render(Call& call, const std::string& page, mustache::data data, int status = 200);
  void Info(Call& call, const std::string& heading_key, const std::string& text_key, int status,
            bool login_link, bool inbox_link = false);
  void Redirect(Call& call, const std::string& to);
  void NotFound(Call& call);
  std::string Text(const Call& call, const std::string& key) const;
  std::string TextWith(const Call& call, const std::string& key, const std::string& name,
                       const std::string& value) const;
  std::string PasswordRule(const Call& call) const;

  // portal_web_auth.cc
  void LinkPage(Call& call);
  void LinkSubmit(Call& call);
  void LoginPage(Call& call);
  void LoginSubmit(Call& call);
  void TotpPage(Call& call);
  void TotpSubmit(Call& call);
  void Logout(Call& call);
  void ResetRequestPage(Call& call);
  void ResetRequestSubmit(Call& call);
  void ResetPage(Call& call);
  void ResetSubmit(Call& call);
  std::optional<pb::LinkToken> OpenLink(Call& call, pb::LinkToken::Purpose purpose);
  // A link's password form: registration (message link) or new password
  // (reset link), by the link's purpose.
  void PasswordForm(Call& call, const std::string& token, const pb::LinkToken& link,
                    const std::string& error_key, int status);
  void PasswordSubmitted(Call& call, const Result<Accounts::Answer>& answer,
                         pb::LinkToken::Purpose purpose);
  Status LogIn(Call& call, const std::string& address, bool totp_pending, int64_t generation);
  void AfterLogin(Call& call);

  // portal_web_inbox.cc
  void Home(Call& call);
  void Inbox(Call& call);
  void Message(Call& call);
  void Body(Call& call);
  void AllowRemote(Call& call);
  void Download(Call& call);
  void DownloadEml(Call& call);
  void DownloadSmime(Call& call);
  void Delete(Call& call);

  // portal_web_reply.cc
  void ReplyPage(Call& call);
  void ReplySubmit(Call& call);

  // portal_web_settings.cc
  void Settings(Call& call);
  void TotpStart(Call& call);
  void TotpQr(Call& call);
  void TotpConfirm(Call& call);
  void TotpDisable(Call& call);
  void CertificateUpload(Call& call);
  void CertificateRemove(Call& call);
  void Language(Call& call);
  void StaticCss(Call& call);
  void BrandCss(Call& call);
  void BrandLogo(Call& call);
  void Health(Call& call);

  WebDeps d_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace sg::portal
