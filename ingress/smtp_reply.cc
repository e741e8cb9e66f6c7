#include "ingress/smtp_reply.h"

namespace sg::ingress {

std::string Reply::Format() const {
  std::string out;
  const std::string code_str = std::to_string(code);
  const size_t n = lines.empty() ? 1 : lines.size();
  for (size_t i = 0; i < n; ++i) {
    out += code_str;
    out += (i + 1 < n) ? '-' : ' ';
    if (!status.empty()) {
      out += status;
      out += ' ';
    }
    if (i < lines.size()) out += lines[i];
    out += "\r\n";
  }
  return out;
}

const std::string& Reply::text() const {
  static const std::string kEmpty;
  return lines.empty() ? kEmpty : lines.front();
}

Reply MakeReply(int code, std::string status, std::string text, bool close) {
  Reply r;
  r.code = code;
  r.status = std::move(status);
  r.lines.push_back(std::move(text));
  r.close = close;
  return r;
}

}  // namespace sg::ingress
