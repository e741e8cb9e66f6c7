#include "egress/egress_smtp_reply.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/ascii.h"

namespace sg::egress {

std::string SmtpReply::Text() const {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += ' ';
    out += l;
  }
  return out;
}

std::string SmtpReply::ToString() const { return std::to_string(code) + " " + Text(); }

Status ReplyParser::Feed(std::string_view data, std::vector<SmtpReply>& out) {
  buf_.append(data);
  size_t start = 0;
  while (true) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) {
      if (buf_.size() - start > kMaxLine) {
        return MakeError(ErrorCode::kCorruption, "SMTP reply line longer than 4096 bytes");
      }
      break;
    }
    std::string_view line(buf_.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLine) return MakeError(ErrorCode::kCorruption, "SMTP reply line too long");
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) ||
        !std::isdigit(static_cast<unsigned char>(line[2])) || line[0] < '2' || line[0] > '5' ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      return MakeError(ErrorCode::kCorruption,
                       "malformed SMTP reply line \"" + std::string(line.substr(0, 64)) + "\"");
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!current_.lines.empty() && code != current_.code) {
      return MakeError(ErrorCode::kCorruption, "SMTP reply code changed within a multi-line reply");
    }
    if (current_.lines.size() >= kMaxLines) {
      return MakeError(ErrorCode::kCorruption, "SMTP reply with more than 200 lines");
    }
    current_.code = code;
    current_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    if (line.size() == 3 || line[3] == ' ') {
      out.push_back(std::move(current_));
      current_ = SmtpReply();
    }
  }
  buf_.erase(0, start);
  return OkStatus();
}

EhloCaps ParseEhloCaps(const SmtpReply& ehlo) {
  EhloCaps caps;
  for (size_t i = 1; i < ehlo.lines.size(); ++i) {  // line 0 is the greeting
    std::string l = ehlo.lines[i];
    const std::string kw = AsciiUpper(l.substr(0, l.find(' ')));
    if (kw == "PIPELINING") caps.pipelining = true;
    else if (kw == "STARTTLS") caps.starttls = true;
    else if (kw == "8BITMIME") caps.eight_bit_mime = true;
    else if (kw == "SMTPUTF8") caps.smtputf8 = true;
    else if (kw == "DSN") caps.dsn = true;
    else if (kw == "SIZE") {
      caps.size = true;
      auto sp = l.find(' ');
      if (sp != std::string::npos) {
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(l.data() + sp + 1, l.data() + l.size(), v);
        if (ec == std::errc()) caps.max_size = v;
      }
    }
  }
  return caps;
}

}  // namespace sg::egress
