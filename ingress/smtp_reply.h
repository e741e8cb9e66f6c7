// SMTP replies (RFC 5321 section 4.2) with RFC 3463 enhanced status codes.
//
// Every reply the ingress sends is built here, so the enhanced code is never
// forgotten (RFC 2034: on every 2xx/4xx/5xx reply except the greeting and
// the EHLO/HELO answer, which carry `status` empty).
//
// Threading: plain values.
#pragma once

#include <string>
#include <vector>

namespace sg::ingress {

struct Reply {
  int code = 250;
  std::string status;               // "2.0.0"; empty for greeting / EHLO
  std::vector<std::string> lines;   // text of each line, without code
  bool close = false;               // close the connection after sending

  // "250-first\r\n250 last\r\n" (code and status repeated on each line).
  std::string Format() const;
  // First line's text, for logs and tests.
  const std::string& text() const;
};

Reply MakeReply(int code, std::string status, std::string text, bool close = false);

}  // namespace sg::ingress
