// CapturedLog: while alive, the default spdlog logger writes to a string in
// the given log.format ("text" or "json", common/logging.h), at info level;
// the previous logger is put back at destruction. For tests of what a
// component logs (e.g. that its lines carry message_id as a JSON key).
//
// Threading: lines may be logged from any thread (the sink is locked); read
// them after the threads that log have stopped.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/logging.h"

namespace sg::testing {

class CapturedLog {
 public:
  explicit CapturedLog(const std::string& format) {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto formatter = MakeLogFormatter(format);
    if (formatter.ok()) sink->set_formatter(std::move(formatter).value());
    auto logger = std::make_shared<spdlog::logger>("smimegate", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::string Text() const { return out_.str(); }
  // Every line parsed as JSON (log.format json); throws on a line that is not.
  std::vector<nlohmann::json> JsonLines() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace sg::testing
