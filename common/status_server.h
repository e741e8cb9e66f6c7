// The HTTP status endpoint of every smimegate process (cpp-httplib):
//   GET /metrics  Prometheus text format of the registry
//   GET /healthz  200 while the process runs (liveness)
//   GET /readyz   200 when every registered component is ready, else 503
//                 with the names of those that are not, and why when known
//                 (readiness)
//   GET <path>    documents other components publish (AddDocument), e.g.
//                 /ca.crl, the built-in CA's CRL (keyservice)
//
// Threading: cpp-httplib serves on its own thread pool; the readiness
// checks it calls must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/service.h"

namespace httplib {
class Server;
}

namespace sg {

struct StatusServerConfig {
  std::string address = "127.0.0.1";
  int port = 9464;  // 0 picks a free port (tests)
};

class StatusServer : public Service {
 public:
  StatusServer(StatusServerConfig config, metrics::Registry& registry);
  ~StatusServer() override;

  // Adds a component to /readyz (before Start).
  void AddReadiness(std::string name, std::function<bool()> ready);
  // The same with the reason: `why_not` returns "" when ready, else a line
  // for /readyz ("name: why"), e.g. the dependency a stage waits for.
  void AddReadinessReason(std::string name, std::function<std::string()> why_not);
  // Serves GET |path| (before Start) with what |produce| returns, as
  // |content_type|; an error becomes 503 (kUnavailable) or 404 (any other),
  // with the error's message. |produce| runs on the server's threads.
  void AddDocument(std::string path, std::string content_type,
                   std::function<Result<std::string>()> produce);

  std::string Name() const override { return "status"; }
  Status Start() override;
  void Stop() override;
  bool Ready() const override;
  int port() const { return bound_port_; }

 private:
  StatusServerConfig config_;
  metrics::Registry& registry_;
  std::vector<std::pair<std::string, std::function<std::string()>>> readiness_;
  struct Document {
    std::string path, content_type;
    std::function<Result<std::string>()> produce;
  };
  std::vector<Document> documents_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int bound_port_ = 0;
};

}  // namespace sg
