// The HTTP status endpoint of every smimegate process (cpp-httplib):
//   GET /metrics  Prometheus text format of the registry
//   GET /healthz  200 while the process runs (liveness)
//   GET /readyz   200 when every registered component is ready, else 503
//                 with the names of those that are not (readiness)
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

  // Adds a component to /readyz.
  void AddReadiness(std::string name, std::function<bool()> ready);

  std::string Name() const override { return "status"; }
  Status Start() override;
  void Stop() override;
  bool Ready() const override;
  int port() const { return bound_port_; }

 private:
  StatusServerConfig config_;
  metrics::Registry& registry_;
  std::vector<std::pair<std::string, std::function<bool()>>> readiness_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int bound_port_ = 0;
};

}  // namespace sg
