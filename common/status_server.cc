#include "common/status_server.h"
#include "common/thread_name.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

namespace sg {

StatusServer::StatusServer(StatusServerConfig config, metrics::Registry& registry)
    : config_(std::move(config)), registry_(registry) {}

StatusServer::~StatusServer() { Stop(); }

void StatusServer::AddReadiness(std::string name, std::function<bool()> ready) {
  readiness_.emplace_back(std::move(name), [ready = std::move(ready)]() -> std::string {
    return ready() ? "" : "not ready";
  });
}

void StatusServer::AddReadinessReason(std::string name, std::function<std::string()> why_not) {
  readiness_.emplace_back(std::move(name), std::move(why_not));
}

void StatusServer::AddDocument(std::string path, std::string content_type,
                               std::function<Result<std::string>()> produce) {
  documents_.push_back(Document{std::move(path), std::move(content_type), std::move(produce)});
}

Status StatusServer::Start() {
  server_ = std::make_unique<httplib::Server>();
  // cpp-httplib sets SO_REUSEPORT, which lets a second process bind the
  // same port and take half the scrapes; SO_REUSEADDR only (restarts while
  // old connections linger) keeps the port to one process.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.Serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::string not_ready;
    for (const auto& [name, why_not] : readiness_) {
      std::string why = why_not();
      if (why.empty()) continue;
      not_ready += why == "not ready" ? name + "\n" : name + ": " + why + "\n";
    }
    if (not_ready.empty()) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready:\n" + not_ready, "text/plain");
    }
  });
  for (const Document& d : documents_) {
    server_->Get(d.path, [&d](const httplib::Request&, httplib::Response& res) {
      Result<std::string> body = d.produce();
      if (body.ok()) {
        res.set_content(std::move(body).value(), d.content_type);
        return;
      }
      res.status = body.error().code == ErrorCode::kUnavailable ? 503 : 404;
      res.set_content(body.error().message + "\n", "text/plain");
    });
  }
  if (config_.port == 0) {
    bound_port_ = server_->bind_to_any_port(config_.address);
    if (bound_port_ <= 0) {
      return MakeError(ErrorCode::kUnavailable,
                       "metrics: cannot listen on " + config_.address + " (any port)");
    }
  } else {
    if (!server_->bind_to_port(config_.address, config_.port)) {
      return MakeError(ErrorCode::kUnavailable,
                       "metrics.listen: " + config_.address + ":" +
                           std::to_string(config_.port) +
                           " is already in use or not available (change metrics.port or "
                           "SMIMEGATE_METRICS_PORT)");
    }
    bound_port_ = config_.port;
  }
  thread_ = std::thread([this] {
    SetCurrentThreadName("sg-status-http");
    server_->listen_after_bind();
  });
  // httplib's stop() does nothing until the accept loop runs: a Stop() right
  // after Start() would leave the thread listening forever.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // The socket is bound and listening already; connections queue until the
  // thread accepts them.
  return OkStatus();
}

void StatusServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

bool StatusServer::Ready() const { return server_ && server_->is_running(); }

}  // namespace sg
