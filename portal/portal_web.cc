#include "portal/portal_web.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <memory>
#include <regex>

#include "common/thread_name.h"
#include "common/tls_selfsigned.h"
#include "portal/portal_crypto.h"
#include "portal/portal_sanitize.h"
#include "portal/portal_web_call.h"
#include "portal/portal_web_pool.h"

namespace sg::portal {
namespace {

// Keep-alive: a connection holds a worker while it is open, so it serves
// at most this many requests and waits this long for the next one.
constexpr time_t kKeepAliveSeconds = 5;
constexpr size_t kKeepAliveRequests = 10;

// Request bodies above this are read only for a logged-in user's reply or
// certificate upload (review R3: httplib reads the body before any handler).
constexpr size_t kSmallBodyBytes = 64 << 10;

// The portal's own pages: no script at all, styles and images from here,
// the message body only in a frame from here, forms only to here.
constexpr char kPageCsp[] =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void SecurityHeaders(httplib::Response& res) {
  auto set = [&](const char* name, const char* value) {
    if (!res.has_header(name)) res.set_header(name, value);
  };
  set("Strict-Transport-Security", "max-age=31536000");
  set("Content-Security-Policy", kPageCsp);
  set("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin:
  // null" on the portal's own form posts, which the Origin check refuses.
  set("Referrer-Policy", "same-origin");
  set("X-Frame-Options", "DENY");
  set("Cross-Origin-Opener-Policy", "same-origin");
  set("Cross-Origin-Resource-Policy", "same-origin");
  set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()");
  set("Cache-Control", "no-store");
}

// The body of an answer httplib gives before any handler runs (or when no
// route matches): it names the status, so "too large" is not "not found".
std::string ErrorText(int status) {
  switch (status) {
    case 400: return "bad request\n";
    case 404: return "not found\n";
    case 405: return "method not allowed\n";
    case 408: return "request timeout\n";
    case 411: return "length required\n";
    case 413: return "too large\n";
    case 414: return "URI too long\n";
    case 415: return "unsupported media type\n";
    case 416: return "range not satisfiable\n";
    case 431: return "request header fields too large\n";
    case 503: return "unavailable, try again later\n";
    default: return status >= 500 ? "internal error\n" : "request refused\n";
  }
}

// A refusal that also ends the connection (review R1). httplib 0.11 keeps
// a connection open after a response that says "Connection: close" unless
// the *request* said so; a client that ignores the header would keep its
// worker. The body goes out through a content provider that then reports
// failure: httplib counts that as a failed write and closes the socket.
// The unread body of a refused request is never parsed as a request.
void RefuseAndClose(httplib::Response& res, int status, std::string text) {
  res.status = status;
  res.set_header("Connection", "close");
  auto body = std::make_shared<const std::string>(std::move(text));
  res.set_content_provider(body->size(), "text/plain; charset=utf-8",
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;  // the connection ends here
                           });
}

std::string CookieValue(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    pos = end + 1;
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 &&
        part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
  }
  return {};
}

std::string LanguageFrom(const httplib::Request& req, const std::string& fallback) {
  const std::string accept = req.get_header_value("Accept-Language");
  // The first listed language decides; only en and de exist.
  std::string first = accept.substr(0, accept.find_first_of(",;"));
  if (first.size() >= 2) {
    std::string two = first.substr(0, 2);
    if (two == "de" || two == "DE") return "de";
    if (two == "en" || two == "EN") return "en";
  }
  return fallback;
}

}  // namespace

PortalWeb::PortalWeb(WebDeps deps) : d_(std::move(deps)) {}

PortalWeb::~PortalWeb() { Stop(); }

Status PortalWeb::Start() {
  SG_RETURN_IF_ERROR(MakeServer());
  ConfigureServer();
  RegisterRoutes();
  SG_RETURN_IF_ERROR(Bind());
  thread_ = std::thread([this] {
    SetCurrentThreadName("sg-portal-lsn");
    server_->listen_after_bind();
  });
  return OkStatus();
}

// The TLS server: the configured certificate (else a self-signed one under
// tls_dir) with the settings every smimegate listener uses.
Status PortalWeb::MakeServer() {
  tls::ServerFiles files;
  if (d_.config.tls) {
    files = *d_.config.tls;
  } else {
    SG_ASSIGN_OR_RETURN(files, tls::EnsureSelfSignedCertificate(
                                   d_.config.tls_dir, d_.config.hostname, d_.clock.NowMs() / 1000));
    spdlog::warn("portal: no portal.tls configured; serving with the self-signed certificate {} "
                 "(browsers will warn; configure a real one for production)",
                 files.cert_file);
  }
  Status tls_status = OkStatus();
  auto server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    tls_status = tls::ConfigureServerContext(&ctx, files, "portal.tls", "smimegate-portal");
    return tls_status.ok();
  });
  if (!server->is_valid()) {
    return tls_status.ok() ? MakeError(ErrorCode::kInternal, "portal: TLS context failed")
                           : tls_status;
  }
  server_ = std::move(server);
  return OkStatus();
}

// Workers, timeouts and the answers no page handler writes (docs/portal.md
// "Connections").
void PortalWeb::ConfigureServer() {
  const size_t threads = static_cast<size_t>(d_.config.threads);
  const size_t per_ip = d_.config.connections_per_ip;
  server_->new_task_queue = [threads, per_ip] { return new ConnectionPool(threads, per_ip); };
  const auto read = std::chrono::duration_cast<std::chrono::microseconds>(d_.config.read_timeout);
  server_->set_read_timeout(static_cast<time_t>(read.count() / 1000000),
                            static_cast<time_t>(read.count() % 1000000));
  server_->set_tcp_nodelay(true);  // no 40 ms Nagle/delayed-ACK stall per response (bench/portal)
  server_->set_write_timeout(30, 0);
  server_->set_keep_alive_timeout(kKeepAliveSeconds);
  server_->set_keep_alive_max_count(kKeepAliveRequests);
  server_->set_payload_max_length(d_.config.max_reply_bytes + (256 << 10));
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const Client client = ClientOf(req);
    if (client.source == Client::Source::kMalformed) {
      d_.metrics.refused.WithLabels({"forwarded_for"}).Inc();
      RefuseAndClose(res, 400, "X-Forwarded-For from the proxy is not an IP address\n");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!ConnectionPool::Admit(client.ip)) {
      d_.metrics.refused.WithLabels({"connections"}).Inc();
      res.set_header("Retry-After", "10");
      RefuseAndClose(res, 429, "too many connections from your address\n");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (const int status = CheckBody(req); status != 0) {
      d_.metrics.refused.WithLabels({"body"}).Inc();
      RefuseAndClose(res, status, ErrorText(status));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_->set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                    std::exception_ptr) {
    res.status = 500;
    res.set_content("internal error\n", "text/plain; charset=utf-8");
  });
  server_->set_post_routing_handler(
      [](const httplib::Request&, httplib::Response& res) { SecurityHeaders(res); });
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && !res.content_provider_) {
      res.set_content(ErrorText(res.status), "text/plain; charset=utf-8");
    }
    SecurityHeaders(res);
  });
}

Client PortalWeb::ClientOf(const httplib::Request& req) const {
  std::vector<std::string> forwarded;
  const size_t n = req.get_header_value_count("X-Forwarded-For");
  forwarded.reserve(n);
  for (size_t i = 0; i < n; ++i) forwarded.push_back(req.get_header_value("X-Forwarded-For", i));
  return ResolveClient(req.remote_addr, forwarded, d_.config.trusted_proxies);
}

int PortalWeb::CheckBody(const httplib::Request& req) {
  if (req.method != "POST" && req.method != "PUT") return 0;
  // Browsers send forms with a length; chunked bodies have no size to check.
  if (req.has_header("Transfer-Encoding")) return 411;
  const std::string length = req.get_header_value("Content-Length");
  uint64_t bytes = 0;
  for (char ch : length) {
    if (ch < '0' || ch > '9' || bytes > (1ull << 40)) return 400;
    bytes = bytes * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (bytes <= kSmallBodyBytes) return 0;
  static const std::regex kLarge(R"(/m/[0-9a-f]{32}/reply|/settings/certificate)");
  if (!std::regex_match(req.path, kLarge)) return 413;
  const std::string cookie = CookieValue(req, Sessions::kCookie);
  if (cookie.empty()) return 413;
  auto session = d_.sessions.Load(cookie);
  if (!session.ok() || !*session || !(*session)->logged_in()) return 413;
  return 0;
}

// Routes: the first matching pattern wins (httplib keeps the order).
void PortalWeb::RegisterRoutes() {
  Route("GET", "/healthz", "health", &PortalWeb::Health, false);
  Route("GET", "/static/style.css", "static", &PortalWeb::StaticCss, false);
  Route("GET", R"(/brand/([a-z0-9.-]+)\.css)", "static", &PortalWeb::BrandCss, false);
  Route("GET", R"(/brand/([a-z0-9.-]+)/logo)", "static", &PortalWeb::BrandLogo, false);
  Route("GET", "/", "home", &PortalWeb::Home, false);
  Route("GET", R"(/l/([A-Za-z0-9_-]+))", "link", &PortalWeb::LinkPage, false);
  Route("POST", R"(/l/([A-Za-z0-9_-]+))", "link", &PortalWeb::LinkSubmit, false);
  Route("GET", "/login", "login", &PortalWeb::LoginPage, false);
  Route("POST", "/login", "login", &PortalWeb::LoginSubmit, false);
  Route("GET", "/login/totp", "login", &PortalWeb::TotpPage, false);
  Route("POST", "/login/totp", "login", &PortalWeb::TotpSubmit, false);
  Route("POST", "/logout", "logout", &PortalWeb::Logout, false);
  Route("GET", "/reset", "reset", &PortalWeb::ResetRequestPage, false);
  Route("POST", "/reset", "reset", &PortalWeb::ResetRequestSubmit, false);
  Route("GET", R"(/r/([A-Za-z0-9_-]+))", "reset", &PortalWeb::ResetPage, false);
  Route("POST", R"(/r/([A-Za-z0-9_-]+))", "reset", &PortalWeb::ResetSubmit, false);
  Route("GET", "/inbox", "inbox", &PortalWeb::Inbox, true);
  Route("GET", R"(/m/([0-9a-f]{32}))", "message", &PortalWeb::Message, true);
  Route("GET", R"(/m/([0-9a-f]{32})/body)", "body", &PortalWeb::Body, true);
  Route("POST", R"(/m/([0-9a-f]{32})/remote)", "message", &PortalWeb::AllowRemote, true);
  Route("GET", R"(/m/([0-9a-f]{32})/a/([0-9]{1,4}))", "download", &PortalWeb::Download, true);
  Route("GET", R"(/m/([0-9a-f]{32})/eml)", "download", &PortalWeb::DownloadEml, true);
  Route("GET", R"(/m/([0-9a-f]{32})/smime)", "download", &PortalWeb::DownloadSmime, true);
  Route("POST", R"(/m/([0-9a-f]{32})/delete)", "delete", &PortalWeb::Delete, true);
  Route("GET", R"(/m/([0-9a-f]{32})/reply)", "reply", &PortalWeb::ReplyPage, true);
  Route("POST", R"(/m/([0-9a-f]{32})/reply)", "reply", &PortalWeb::ReplySubmit, true);
  Route("GET", "/settings", "settings", &PortalWeb::Settings, true);
  Route("POST", "/settings/totp/start", "settings", &PortalWeb::TotpStart, true);
  Route("GET", "/settings/totp/qr.svg", "settings", &PortalWeb::TotpQr, true);
  Route("POST", "/settings/totp/confirm", "settings", &PortalWeb::TotpConfirm, true);
  Route("POST", "/settings/totp/disable", "settings", &PortalWeb::TotpDisable, true);
  Route("POST", "/settings/certificate", "settings", &PortalWeb::CertificateUpload, true);
  Route("POST", "/settings/certificate/remove", "settings", &PortalWeb::CertificateRemove, true);
  Route("POST", "/settings/language", "settings", &PortalWeb::Language, true);
}

Status PortalWeb::Bind() {
  if (d_.config.port == 0) {
    port_ = server_->bind_to_any_port(d_.config.address);
    if (port_ <= 0) {
      return MakeError(ErrorCode::kUnavailable, "portal: cannot listen on " + d_.config.address);
    }
    return OkStatus();
  }
  if (!server_->bind_to_port(d_.config.address, d_.config.port)) {
    return MakeError(ErrorCode::kUnavailable,
                     "portal: " + d_.config.address + ":" + std::to_string(d_.config.port) +
                         " is already in use or not available (change portal.port or "
                         "SMIMEGATE_PORTAL_PORT)");
  }
  port_ = d_.config.port;
  return OkStatus();
}

void PortalWeb::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

bool PortalWeb::Ready() const { return server_ && server_->is_running(); }

void PortalWeb::Route(const std::string& method, const std::string& pattern,
                      const std::string& page, Handler handler, bool needs_login) {
  auto fn = [this, page, handler, needs_login](const httplib::Request& req,
                                               httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
    Call call{req, res, std::nullopt, ClientOf(req).ip, "en", {}, {}};
    try {
      Status s = Serve(call, handler, needs_login);
      if (!s.ok()) {
        spdlog::error("portal: {} {}: {}", req.method, page, s.error().ToString());
        res = httplib::Response();
        Info(call, "error_title", "error_text", IsTransient(s.error().code) ? 503 : 500, false);
      }
    } catch (const std::exception& e) {
      spdlog::error("portal: {} {}: exception: {}", req.method, page, e.what());
      res = httplib::Response();
      res.status = 500;
      res.set_content("internal error\n", "text/plain; charset=utf-8");
    } catch (...) {
      res = httplib::Response();
      res.status = 500;
      res.set_content("internal error\n", "text/plain; charset=utf-8");
    }
    d_.metrics.request_seconds.WithLabels({page}).Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  if (method == "GET") {
    server_->Get(pattern, fn);
  } else {
    server_->Post(pattern, fn);
  }
}

Status PortalWeb::Serve(Call& call, Handler handler, bool needs_login) {
  const std::string cookie = CookieValue(call.req, Sessions::kCookie);
  if (!cookie.empty()) {
    SG_ASSIGN_OR_RETURN(call.session, d_.sessions.Load(cookie));
    if (!call.session) call.res.set_header("Set-Cookie", Sessions::ClearCookieHeader());
  }
  if (call.session) call.brand = call.session->data.brand();
  call.lang = LanguageFrom(call.req, d_.config.For(call.brand).language);
  if (call.logged_in()) {
    SG_ASSIGN_OR_RETURN(auto account, d_.vault.store().GetAccount(call.address()));
    if (account && !account->language().empty()) call.lang = account->language();
    if (call.brand.empty() && account) call.brand = account->domain();
    SG_RETURN_IF_ERROR(d_.sessions.Save(*call.session, /*force=*/false));
  }
  if (needs_login && !call.logged_in()) {
    // A message page opens again after login. The id travels in the login
    // URL and form, not in a session: an anonymous GET writes nothing to
    // the store (review N3). Route patterns made it 32 hex digits.
    const bool message = call.req.method == "GET" && call.req.path.rfind("/m/", 0) == 0 &&
                         call.req.path.size() == 35;
    Redirect(call, message ? "/login?m=" + call.req.path.substr(3) : std::string("/login"));
    return OkStatus();
  }
  // A notice carried over a redirect ("?n=reply_sent"): only known keys.
  static const char* const kNotices[] = {"registered", "password_changed", "reply_sent",
                                         "deleted", "totp_enabled", "totp_disabled",
                                         "certificate_saved", "certificate_removed",
                                         "language_saved", "logged_out", "session_expired"};
  const std::string n = call.Param("n");
  for (const char* k : kNotices) {
    if (n == k) call.notice = Text(call, k);
  }
  if (call.req.method == "POST" && !CheckCsrf(call)) {
    d_.metrics.refused.WithLabels({"csrf"}).Inc();
    Info(call, "forbidden_title", "error_csrf", 403, false);
    return OkStatus();
  }
  (this->*handler)(call);
  return OkStatus();
}

void PortalWeb::SetBrand(Call& call, const std::string& brand) {
  call.brand = brand;
  // A reader who is not logged in has no language of their own yet: the
  // browser's, else this brand's (review L-d: a German domain's first page
  // is German without Accept-Language).
  if (!call.logged_in()) call.lang = LanguageFrom(call.req, d_.config.For(brand).language);
}

Status PortalWeb::EnsureSession(Call& call) {
  if (call.session) return OkStatus();
  SG_ASSIGN_OR_RETURN(LiveSession s, d_.sessions.Create(call.brand));
  call.res.set_header("Set-Cookie", Sessions::CookieHeader(s.id));
  call.session = std::move(s);
  return OkStatus();
}

bool PortalWeb::CheckCsrf(Call& call) {
  // A browser that names the page's origin must name ours.
  const std::string origin = call.req.get_header_value("Origin");
  if (!origin.empty() && origin != d_.links.public_url()) return false;
  if (!call.session) return false;
  const std::string token = call.Param("csrf");
  return !token.empty() && ConstantTimeEqual(token, call.session->data.csrf());
}

std::string PortalWeb::Text(const Call& call, const std::string& key) const {
  return d_.templates.String(call.brand, call.lang, key);
}

std::string PortalWeb::TextWith(const Call& call, const std::string& key, const std::string& name,
                                const std::string& value) const {
  std::string text = Text(call, key);
  const std::string slot = "{{" + name + "}}";
  if (size_t at = text.find(slot); at != std::string::npos) text.replace(at, slot.size(), value);
  return text;
}

std::string PortalWeb::PasswordRule(const Call& call) const {
  return TextWith(call, "password_rule", "min", std::to_string(d_.config.min_password_length));
}

void PortalWeb::Render(Call& call, const std::string& page, mustache::data data, int status) {
  const Brand brand = d_.brands.For(call.brand);
  data.set("t", d_.templates.Strings(call.brand, call.lang));
  data.set("lang", call.lang);
  if (call.session) data.set("csrf", call.session->data.csrf());
  if (call.logged_in()) data.set("user", call.address());
  mustache::data b;
  b.set("product_name", brand.settings.product_name);
  b.set("key", brand.key);
  b.set("logo", brand.has_logo());
  if (!brand.display_name.empty()) b.set("display_name", brand.display_name);
  if (!brand.support.empty()) b.set("support", brand.support);
  data.set("brand", b);
  auto content = d_.templates.Render(call.brand, "web/" + page + ".html", data);
  if (!content.ok()) {
    spdlog::error("portal: {}", content.error().ToString());
    call.res.status = 500;
    call.res.set_content("internal error\n", "text/plain; charset=utf-8");
    return;
  }
  data.set("content", *content);
  if (!call.notice.empty()) data.set("notice", call.notice);
  auto html = d_.templates.Render(call.brand, "web/layout.html", data);
  call.res.status = status;
  call.res.set_content(html.ok() ? *html : std::string("internal error\n"),
                       "text/html; charset=utf-8");
}

void PortalWeb::Info(Call& call, const std::string& heading_key, const std::string& text_key,
                     int status, bool login_link, bool inbox_link) {
  mustache::data data;
  data.set("title", Text(call, heading_key));
  data.set("heading", Text(call, heading_key));
  data.set("text", Text(call, text_key));
  data.set("login_link", login_link);
  data.set("inbox_link", inbox_link);
  Render(call, "info", data, status);
}

void PortalWeb::Redirect(Call& call, const std::string& to) {
  call.res.status = 303;
  call.res.set_header("Location", to);
}

void PortalWeb::NotFound(Call& call) {
  d_.metrics.refused.WithLabels({"not_found"}).Inc();
  Info(call, "not_found_title", "not_found", 404, !call.logged_in(), call.logged_in());
}

void PortalWeb::Health(Call& call) { call.res.set_content("ok\n", "text/plain"); }

}  // namespace sg::portal
