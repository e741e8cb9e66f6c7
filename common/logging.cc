#include "common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/log_event.h"

namespace sg {
namespace {

// The keys of the line itself; an Event field with one of these names is
// written as "field_<name>" instead of overwriting it.
bool Reserved(const std::string& key) {
  return key == "ts" || key == "level" || key == "logger" || key == "thread" || key == "msg";
}

std::string IsoTimeUtc(std::chrono::system_clock::time_point tp) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[48];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%06lldZ", static_cast<long long>(us % 1000000));
  return buf;
}

class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json line;
    line["ts"] = IsoTimeUtc(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    line["thread"] = msg.thread_id;
    const log::Emitting* event = log::CurrentEvent();
    if (event != nullptr) {
      for (const auto& [key, value] : *event->fields) {
        const std::string k = Reserved(key) ? "field_" + key : key;
        std::visit([&line, &k](const auto& v) { line[k] = v; }, value);
      }
      if (!event->msg.empty()) line["msg"] = std::string(event->msg);
    } else {
      line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    }
    // replace: invalid UTF-8 becomes U+FFFD instead of an exception.
    const std::string out =
        line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(out.data(), out.data() + out.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

Result<std::unique_ptr<spdlog::formatter>> MakeLogFormatter(const std::string& format) {
  if (format == "json") return std::unique_ptr<spdlog::formatter>(new JsonFormatter());
  if (format == "text") {
    return std::unique_ptr<spdlog::formatter>(
        new spdlog::pattern_formatter("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v"));
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "config log.format: expected text or json, got \"" + format + "\"");
}

Status InitLogging(const LogConfig& config) {
  auto level = spdlog::level::from_str(config.level);
  if (level == spdlog::level::off && config.level != "off") {
    return MakeError(ErrorCode::kInvalidArgument, "config log.level: unknown level \"" +
                                                      config.level +
                                                      "\" (trace, debug, info, warn, error, "
                                                      "critical, off)");
  }
  SG_ASSIGN_OR_RETURN(auto formatter, MakeLogFormatter(config.format));
  // Logs go to stderr so stdout stays free for command output.
  auto logger = spdlog::stderr_logger_mt("smimegate");
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
  spdlog::set_formatter(std::move(formatter));
  spdlog::flush_on(spdlog::level::warn);
  return OkStatus();
}

}  // namespace sg
