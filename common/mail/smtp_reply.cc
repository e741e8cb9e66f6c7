#include "common/mail/smtp_reply.h"

namespace sg::mail {

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

bool IsEnhancedStatus(std::string_view status) {
  // class "." subject "." detail (RFC 3463 3.1).
  if (status.size() < 5 || (status[0] != '2' && status[0] != '4' && status[0] != '5') ||
      status[1] != '.') {
    return false;
  }
  std::string_view rest = status.substr(2);
  for (int part = 0; part < 2; ++part) {
    size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 0 || n > 3) return false;
    rest.remove_prefix(n);
    if (part == 0) {
      if (rest.empty() || rest[0] != '.') return false;
      rest.remove_prefix(1);
    }
  }
  return rest.empty();
}

std::string StatusFromReply(int code, const std::string& text) {
  // RFC 2034: the enhanced code starts the text ("5.1.1 no such user"), its
  // class equal to the reply code's first digit.
  const std::string_view head = std::string_view(text).substr(0, text.find(' '));
  if (code >= 200 && code < 600 && IsEnhancedStatus(head) &&
      head[0] == static_cast<char>('0' + code / 100)) {
    return std::string(head);
  }
  if (code >= 500) return "5.0.0";
  if (code >= 400) return "4.0.0";
  return "2.0.0";
}

}  // namespace sg::mail
