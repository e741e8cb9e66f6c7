#include "ingress/ingress_headers.h"

#include "common/ascii.h"

namespace sg::ingress {
namespace {

// Calls f(name_matched, line_start, line_end) for each field's first line;
// returns when f returns false or at the end of the header section.
template <typename F>
void ForEachField(std::string_view message, std::string_view name, F f) {
  size_t pos = 0;
  while (pos < message.size()) {
    size_t eol = message.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = message.size();
    if (eol == pos) return;  // the empty line: end of the header section
    const std::string_view line = message.substr(pos, eol - pos);
    bool match = line.size() > name.size() &&
                 AsciiEqualsIgnoreCase(line.substr(0, name.size()), name);
    if (match) {
      // RFC 5322 field name, then optional WSP (obsolete syntax) and ':'.
      size_t k = name.size();
      while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
      match = k < line.size() && line[k] == ':';
      if (match && !f(pos + k + 1, eol)) return;
    }
    pos = eol + 2;
  }
}

}  // namespace

size_t CountHeaderFields(std::string_view message, std::string_view name, size_t stop_at) {
  size_t n = 0;
  ForEachField(message, name, [&](size_t, size_t) { return ++n < stop_at; });
  return n;
}

std::vector<std::string> HeaderFieldValues(std::string_view message, std::string_view name) {
  std::vector<std::string> values;
  ForEachField(message, name, [&](size_t value_start, size_t eol) {
    std::string value(message.substr(value_start, eol - value_start));
    size_t next = eol + 2;
    while (next < message.size() && (message[next] == ' ' || message[next] == '\t')) {
      size_t e = message.find("\r\n", next);
      if (e == std::string_view::npos) e = message.size();
      value += message.substr(next, e - next);
      next = e + 2;
    }
    values.push_back(std::move(value));
    return true;
  });
  return values;
}

}  // namespace sg::ingress
