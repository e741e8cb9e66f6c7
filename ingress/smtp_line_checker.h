// Line-ending and line-length checks for message content that arrives
// without DATA's dot-stuffing: the chunks of BDAT (RFC 3030).
//
// DATA content is checked by DataReader while it looks for the terminator;
// BDAT content has no terminator (its length is announced), so the same two
// checks run here over the raw octets, chunk by chunk: a CR or LF that is not
// part of a CRLF pair ("\r.\r", "\n.\n", ...: the SMTP smuggling sequences,
// RFC 5321 2.3.8) and a line longer than the limit (RFC 5321 4.5.3.1.6). The
// session refuses such a message with the same 550 5.6.0 as DATA, so a
// message that one transport would refuse is never accepted over the other.
//
// A CRLF may be split across two chunks; the checker keeps the state.
//
// Threading: one per transaction, used from the session's thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace sg::ingress {

class LineChecker {
 public:
  explicit LineChecker(size_t max_line_length) : max_line_length_(max_line_length) {}

  // The next octets of the content.
  void Feed(std::string_view in);
  // The content is complete: a CR still waiting for its LF is bare.
  void Finish();

  bool bare_line_ending() const { return bare_; }
  bool line_too_long() const { return too_long_; }

 private:
  void AddToLine(size_t n);

  size_t max_line_length_;
  size_t line_length_ = 0;
  bool pending_cr_ = false;
  bool bare_ = false;
  bool too_long_ = false;
};

}  // namespace sg::ingress
