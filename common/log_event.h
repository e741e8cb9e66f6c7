// Structured log lines: sg::log::Event, fields as keys.
//
//   sg::log::Event("policy")
//       .Field("message_id", id)
//       .Field("rcpt", rcpt)
//       .Field("action", "signed")
//       .Info();
//
// With log.format json the line is one JSON object whose keys are the fields
// ({"ts":..,"level":"info","stage":"policy","message_id":"q1","rcpt":..});
// with log.format text it reads `policy message_id=q1 rcpt=bob@x action=signed`
// (a value is quoted when it is empty or holds a space, '"', '=' or a
// control character; control characters and invalid UTF-8 are escaped).
// Any byte string is a valid value: the JSON is valid UTF-8 whatever the
// input (invalid sequences become U+FFFD), so a hostile address or header
// cannot break a log collector's parser or forge a field.
//
// Field names are fixed identifiers chosen by the caller ([a-z_]+); the keys
// ts, level, logger, thread and msg are the line's own and must not be used.
// A message text (Info("...")) is optional and becomes "msg".
//
// Cost: an Event allocates its fields; nothing is formatted when the level
// is disabled. Never log private keys, passwords or message bodies.
//
// Threading: an Event belongs to the thread that builds it; emitting is as
// thread-safe as spdlog.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace sg::log {

using Value = std::variant<std::string, int64_t, double, bool>;
using Fields = std::vector<std::pair<std::string, Value>>;

class Event {
 public:
  // |stage| becomes the field "stage" and starts the text line.
  explicit Event(std::string_view stage);

  Event& Field(std::string_view key, std::string_view value);
  Event& Field(std::string_view key, const char* value) {
    return Field(key, std::string_view(value == nullptr ? "" : value));
  }
  Event& Field(std::string_view key, const std::string& value) {
    return Field(key, std::string_view(value));
  }
  Event& Field(std::string_view key, bool value);
  Event& Field(std::string_view key, double value);
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Event& Field(std::string_view key, T value) {
    return AddInteger(key, static_cast<int64_t>(value));
  }
  // Several fields at once (e.g. extra fields passed down by a caller).
  Event& Fields(const log::Fields& fields);

  void Debug(std::string_view msg = {}) const { Emit(spdlog::level::debug, msg); }
  void Info(std::string_view msg = {}) const { Emit(spdlog::level::info, msg); }
  void Warn(std::string_view msg = {}) const { Emit(spdlog::level::warn, msg); }
  void Error(std::string_view msg = {}) const { Emit(spdlog::level::err, msg); }
  void Emit(spdlog::level::level_enum level, std::string_view msg) const;

  // The text form (what log.format text prints after the level).
  std::string Text(std::string_view msg = {}) const;

 private:
  Event& AddInteger(std::string_view key, int64_t value);

  log::Fields fields_;  // "stage" first
};

// The Event being emitted on this thread, for the JSON formatter
// (common/logging.cc): its fields and message; null outside Event::Emit.
struct Emitting {
  const log::Fields* fields = nullptr;
  std::string_view msg;
};
const Emitting* CurrentEvent();

}  // namespace sg::log
