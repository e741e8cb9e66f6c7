// Logging set-up. Code logs through spdlog directly (spdlog::info(...)), or
// through sg::log::Event (common/log_event.h) when a line carries fields
// that a log collector should see as keys (policy decisions, per-recipient
// outcomes).
//
// Formats (config log.format, docs/configuration.md):
// - "text" (default): one human-readable line, "<time> <level> <message>";
//   an Event prints as `stage key=value ...`.
// - "json": one JSON object per line: ts, level, logger, thread, then an
//   Event's fields as keys, then msg (a plain spdlog line's text, or an
//   Event's optional message). Built with nlohmann-json; valid JSON and
//   valid UTF-8 for any bytes in a message or field (invalid UTF-8 becomes
//   U+FFFD, control characters are escaped).
// Never log private keys, passwords or message bodies.
//
// Threading: InitLogging is called once from main before any thread starts.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace sg {

struct LogConfig {
  std::string format = "text";  // text | json
  std::string level = "info";   // trace | debug | info | warn | error | critical | off
};

Status InitLogging(const LogConfig& config);

// The formatter of a log.format ("text" or "json"); kInvalidArgument for any
// other. InitLogging installs it; tests put it on their own sink.
Result<std::unique_ptr<spdlog::formatter>> MakeLogFormatter(const std::string& format);

}  // namespace sg
