#include "cmd/smimegate/app.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "workers/worker_pool.h"

namespace sg::app {

App::App(AppConfig config) : config_(std::move(config)) {}

App::~App() { Stop(); }

Status App::Start() {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIoError,
                     "data_dir " + config_.data_dir + " cannot be created: " + ec.message());
  }
  SG_ASSIGN_OR_RETURN(queue_, queue::OpenQueue(config_.queue));

  processor_ = std::make_unique<workers::PassThroughProcessor>();
  services_.push_back(std::make_unique<workers::WorkerPool>(config_.workers, config_.queue,
                                                            *queue_, *processor_, registry_));

  status_ = std::make_unique<StatusServer>(config_.metrics, registry_);
  for (const auto& s : services_) {
    Service* raw = s.get();
    status_->AddReadiness(raw->Name(), [raw] { return raw->Ready(); });
  }
  SG_RETURN_IF_ERROR(status_->Start());

  for (auto& s : services_) {
    auto st = s->Start();
    if (!st.ok()) {
      Stop();
      return MakeError(st.error().code, s->Name() + ": " + st.error().message);
    }
    ++started_;
  }
  return OkStatus();
}

void App::Stop() {
  while (started_ > 0) {
    auto& s = services_[--started_];
    spdlog::info("stopping {}", s->Name());
    s->Stop();
  }
  services_.clear();
  if (status_) status_->Stop();
  status_.reset();
  queue_.reset();
}

void App::Reload() { spdlog::info("reload: nothing to reload yet"); }

std::string App::Summary() const {
  std::string out = "metrics http://" + config_.metrics.address + ":" +
                    std::to_string(status_ ? status_->port() : config_.metrics.port) + "/metrics";
  out += ", data " + config_.data_dir;
  return out;
}

}  // namespace sg::app
