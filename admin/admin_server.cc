#include "admin/admin_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "admin/admin_json.h"
#include "common/thread_name.h"
#include "common/tls_selfsigned.h"
#include "common/tls_server.h"

namespace sg::admin {
namespace {

constexpr const char* kJson = "application/json";

void SetJsonError(httplib::Response& res, int status, const std::string& code,
                  const std::string& message) {
  res.status = status;
  res.set_content(ErrorAnswer(status, code, message).body.dump(), kJson);
}

std::string CodeOf(const httplib::Response& res) {
  if (res.status < 400) return "ok";
  auto j = Json::parse(res.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("code") && j["error"]["code"].is_string()) {
    return j["error"]["code"].get<std::string>();
  }
  return "http_" + std::to_string(res.status);
}

}  // namespace

AdminServer::AdminServer(AdminApiConfig config, ApiDeps deps, metrics::Registry& registry)
    : config_(std::move(config)),
      api_(deps, ApiLimits{config_.rate_limit, config_.unauthenticated_limit}),
      clock_(deps.clock),
      requests_(registry.AddCounter("smimegate_admin_api_requests_total",
                                    "Admin REST API requests, by answer (ok or the error code)",
                                    {"code"})),
      rate_limited_(registry.AddCounter(
          "smimegate_admin_api_rate_limited_total",
          "Admin REST API requests answered 429, by the limit that refused them (token, "
          "client_address, client_table_full)",
          {"limit"})) {
  requests_.WithLabels({"ok"});  // the families show from the start
  for (const char* limit : {"token", "client_address", "client_table_full"}) {
    rate_limited_.WithLabels({limit});
  }
}

AdminServer::~AdminServer() { Stop(); }

Status AdminServer::Start() {
  SG_RETURN_IF_ERROR(MakeServer());
  ConfigureServer();
  SG_RETURN_IF_ERROR(Bind());
  thread_ = std::thread([this] {
    SetCurrentThreadName("sg-admin-lsn");
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  spdlog::info("admin API: listening on https://{}:{}", config_.address, port_);
  return OkStatus();
}

Status AdminServer::MakeServer() {
  tls::ServerFiles files;
  if (config_.tls) {
    files = *config_.tls;
  } else {
    SG_ASSIGN_OR_RETURN(files, tls::EnsureSelfSignedCertificate(config_.tls_dir, config_.hostname,
                                                                clock_.NowMs() / 1000));
    spdlog::warn("admin API: no keyservice.admin_api.tls configured; serving with the self-signed "
                 "certificate {} (clients must pin it)",
                 files.cert_file);
  }
  Status tls_status = OkStatus();
  auto server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    tls_status = tls::ConfigureServerContext(&ctx, files, "keyservice.admin_api.tls",
                                             "smimegate-admin-api");
    return tls_status.ok();
  });
  if (!server->is_valid()) {
    return tls_status.ok() ? MakeError(ErrorCode::kInternal, "admin API: TLS context failed")
                           : tls_status;
  }
  server_ = std::move(server);
  return OkStatus();
}

void AdminServer::Count(const std::string& code) { requests_.WithLabels({code}).Inc(); }

void AdminServer::ConfigureServer() {
  const size_t threads = config_.max_connections;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  const auto timeout =
      std::chrono::duration_cast<std::chrono::microseconds>(config_.request_timeout);
  const auto sec = static_cast<time_t>(timeout.count() / 1000000);
  const auto usec = static_cast<time_t>(timeout.count() % 1000000);
  server_->set_read_timeout(sec, usec);
  server_->set_write_timeout(sec, usec);
  server_->set_keep_alive_timeout(5);
  server_->set_keep_alive_max_count(100);
  server_->set_tcp_nodelay(true);
  // httplib answers 413 itself beyond this (also for a chunked body).
  server_->set_payload_max_length(config_.max_body_bytes);
  // Before the body is read; a refused body is never read, so the
  // connection closes after the answer.
  server_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Transfer-Encoding")) {
      SetJsonError(res, 411, "length_required", "send the body with a Content-Length");
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string length = req.get_header_value("Content-Length");
    const bool has_body = !length.empty() && length != "0";
    if (has_body && req.get_header_value("Content-Type").rfind(kJson, 0) != 0) {
      SetJsonError(res, 415, "unsupported_media_type", "the body must be application/json");
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    ApiRequest r;
    r.method = req.method;
    // The raw target: httplib's req.path is percent-decoded already, and
    // FindRoute decodes each segment once itself.
    r.path = req.target.substr(0, req.target.find('?'));
    for (const auto& [k, v] : req.params) r.query[k] = v;
    r.authorization = req.get_header_value("Authorization");
    r.client_address = req.remote_addr;
    r.body = req.body;
    ApiReply reply = api_.Handle(r);
    if (!reply.limited.empty()) rate_limited_.WithLabels({reply.limited}).Inc();
    res.status = reply.status;
    if (!reply.body.empty()) res.set_content(reply.body, reply.content_type);
    if (!reply.allow.empty()) res.set_header("Allow", reply.allow);
    if (reply.retry_after > 0) res.set_header("Retry-After", std::to_string(reply.retry_after));
    if (reply.unauthenticated) res.set_header("WWW-Authenticate", "Bearer realm=\"smimegate\"");
  };
  server_->Get(".*", dispatch);
  server_->Post(".*", dispatch);
  server_->Put(".*", dispatch);
  server_->Patch(".*", dispatch);
  server_->Delete(".*", dispatch);
  server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        SetJsonError(res, 500, "internal", "internal error");
      });
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      SetJsonError(res, 413, "payload_too_large", "the body is larger than max_body_bytes");
    } else if (res.status == 400) {
      SetJsonError(res, 400, "bad_request", "malformed HTTP request");
    } else {
      SetJsonError(res, res.status, "http_" + std::to_string(res.status), "HTTP error");
    }
  });
  server_->set_logger([this](const httplib::Request&, const httplib::Response& res) {
    Count(CodeOf(res));
  });
  server_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
  });
}

Status AdminServer::Bind() {
  if (config_.port == 0) {
    port_ = server_->bind_to_any_port(config_.address);
    if (port_ <= 0) {
      return MakeError(ErrorCode::kUnavailable,
                       "keyservice.admin_api: cannot listen on " + config_.address);
    }
    return OkStatus();
  }
  if (!server_->bind_to_port(config_.address, config_.port)) {
    return MakeError(ErrorCode::kUnavailable, "keyservice.admin_api: " + config_.address + ":" +
                                                  std::to_string(config_.port) +
                                                  " is already in use or not available");
  }
  port_ = config_.port;
  return OkStatus();
}

// httplib's stop() does nothing until the listener thread has marked the
// server running, so a Stop() right after Start() waits for that first
// (or for the listener to have given up); otherwise the join would hang.
void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  while (!server_->is_running() && !listen_returned_) std::this_thread::yield();
  server_->stop();
  thread_.join();
}

bool AdminServer::Ready() const { return server_ && server_->is_running(); }

}  // namespace sg::admin
