// SMTP reply parsing (RFC 5321 4.2) and EHLO capabilities, for the client.
//
// Peer replies are hostile input: overlong lines, too many lines, a bad
// code or codes that change within one multi-line reply are specific
// errors (kCorruption), never a crash or an unbounded buffer.
//
// Threading: plain objects, one per connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sg::egress {

struct SmtpReply {
  int code = 0;
  std::vector<std::string> lines;  // text of each line, after "250-" / "250 "

  // "250 first line / second line": the code and the lines, for logs and DSNs.
  std::string ToString() const;
  // The lines joined with spaces, without the code.
  std::string Text() const;
  bool Positive() const { return code >= 200 && code < 400; }
  bool Transient() const { return code >= 400 && code < 500; }
};

class ReplyParser {
 public:
  static constexpr size_t kMaxLine = 4096;
  static constexpr size_t kMaxLines = 200;

  // Appends bytes; every reply completed by them goes to `out`.
  Status Feed(std::string_view data, std::vector<SmtpReply>& out);
  // True when bytes were received that are not part of a complete reply yet.
  bool HasPartial() const { return !buf_.empty() || !current_.lines.empty(); }

 private:
  std::string buf_;
  SmtpReply current_;
};

struct EhloCaps {
  bool pipelining = false;
  bool starttls = false;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool size = false;
  uint64_t max_size = 0;  // 0: no limit given
};

EhloCaps ParseEhloCaps(const SmtpReply& ehlo);

}  // namespace sg::egress
