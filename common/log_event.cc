#include "common/log_event.h"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace sg::log {
namespace {

thread_local const Emitting* current_event = nullptr;

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= 0x20 || c == '"' || c == '=' || c == 0x7F || c >= 0x80) return true;
  }
  return false;
}

// Text form of a string value: bare when it is plain printable ASCII,
// otherwise quoted with ", \ and every byte outside printable ASCII escaped
// (\n, \r, \t, \xHH), so one log line stays one line and shows what arrived.
void AppendTextString(std::string& out, std::string_view v) {
  if (!NeedsQuotes(v)) {
    out += v;
    return;
  }
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void AppendTextValue(std::string& out, const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    AppendTextString(out, *s);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", *d);
    out += buf;
  } else {
    out += std::get<bool>(v) ? "true" : "false";
  }
}

}  // namespace

Event::Event(std::string_view stage) { fields_.emplace_back("stage", std::string(stage)); }

Event& Event::Field(std::string_view key, std::string_view value) {
  fields_.emplace_back(std::string(key), std::string(value));
  return *this;
}

Event& Event::Field(std::string_view key, bool value) {
  fields_.emplace_back(std::string(key), value);
  return *this;
}

Event& Event::Field(std::string_view key, double value) {
  fields_.emplace_back(std::string(key), value);
  return *this;
}

Event& Event::AddInteger(std::string_view key, int64_t value) {
  fields_.emplace_back(std::string(key), value);
  return *this;
}

Event& Event::Fields(const log::Fields& fields) {
  fields_.insert(fields_.end(), fields.begin(), fields.end());
  return *this;
}

std::string Event::Text(std::string_view msg) const {
  std::string out = std::get<std::string>(fields_.front().second);
  for (size_t i = 1; i < fields_.size(); ++i) {
    out += ' ';
    out += fields_[i].first;
    out += '=';
    AppendTextValue(out, fields_[i].second);
  }
  if (!msg.empty()) {
    out += ": ";
    out += msg;
  }
  return out;
}

void Event::Emit(spdlog::level::level_enum level, std::string_view msg) const {
  auto logger = spdlog::default_logger_raw();
  if (logger == nullptr || !logger->should_log(level)) return;
  // The JSON formatter takes the fields from here and the message as "msg";
  // the text formatter prints the payload, which is the text form.
  const Emitting emitting{&fields_, msg};
  current_event = &emitting;
  logger->log(level, "{}", Text(msg));
  current_event = nullptr;
}

const Emitting* CurrentEvent() { return current_event; }

}  // namespace sg::log
