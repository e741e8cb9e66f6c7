// Logging set-up. Code logs through spdlog directly (spdlog::info(...)).
//
// Formats: "text" (human, for a terminal) and "json" (one JSON object per
// line: ts, level, logger, msg; for log collectors). Never log private keys,
// passwords or message bodies.
//
// Threading: InitLogging is called once from main before any thread starts.
#pragma once

#include <string>

#include "common/result.h"

namespace sg {

struct LogConfig {
  std::string format = "text";  // text | json
  std::string level = "info";   // trace | debug | info | warn | error | critical | off
};

Status InitLogging(const LogConfig& config);

// Escapes s for inclusion inside a JSON string literal.
std::string JsonEscape(const std::string& s);

}  // namespace sg
