// SMTP replies (RFC 5321 section 4.2) with RFC 3463 enhanced status codes,
// shared by the server side (ingress) and the client side (egress, DSNs).
//
// Every reply the ingress sends is built with MakeReply, so the enhanced
// code is never forgotten (RFC 2034: on every 2xx/4xx/5xx reply except the
// greeting and the EHLO/HELO answer, which carry `status` empty). Egress
// reads the enhanced code of a peer's reply with StatusFromReply for its
// DSNs, as do the workers for the recipients they bounce.
//
// Threading: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sg::mail {

struct Reply {
  int code = 250;
  std::string status;              // "2.0.0"; empty for greeting / EHLO
  std::vector<std::string> lines;  // text of each line, without code
  bool close = false;              // close the connection after sending

  // "250-first\r\n250 last\r\n" (code and status repeated on each line).
  std::string Format() const;
  // First line's text, for logs and tests.
  const std::string& text() const;
};

Reply MakeReply(int code, std::string status, std::string text, bool close = false);

// True for an RFC 3463 status code "class.subject.detail": class 2, 4 or 5,
// subject and detail 1 to 3 digits each.
bool IsEnhancedStatus(std::string_view status);

// The RFC 3463 status code that starts an SMTP reply text (the text after
// the reply code: "5.1.1 no such user" -> "5.1.1") when its class matches
// the reply code, else a generic one from the reply code (5xx -> 5.0.0,
// 4xx -> 4.0.0, otherwise 2.0.0).
std::string StatusFromReply(int code, const std::string& text);

}  // namespace sg::mail
