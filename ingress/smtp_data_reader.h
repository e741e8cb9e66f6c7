// The DATA state machine (RFC 5321 sections 4.1.1.4 and 4.5.2).
//
// Fed the bytes that follow "354", it removes dot-stuffing and finds the end
// of the data. Only <CRLF>.<CRLF> ends it (the start of the data counts as
// after a CRLF). SMTP smuggling defence: a bare LF or a bare CR anywhere
// in the data (so also "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r") is never a
// terminator; it is kept as data and marks the message as malformed, and the
// session rejects the whole message once the real terminator arrives. So a
// sequence hidden in one message can never become a second message, here
// or at any server after us.
//
// Limits: the message size (unstuffed octets; once exceeded, content is
// discarded but still scanned for the terminator, so the connection stays in
// sync) and the line length (RFC 5321 4.5.3.1.6: 998 octets + CRLF).
//
// Threading: one per session, used from the session's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg::ingress {

class DataReader {
 public:
  enum class Outcome {
    kOk,
    kTooBig,            // more than max_size octets
    kLineTooLong,       // a line longer than max_line_length (without CRLF)
    kBareLineEnding,    // a CR or LF that is not part of a CRLF pair
  };

  DataReader(uint64_t max_size, size_t max_line_length)
      : max_size_(max_size), max_line_length_(max_line_length) {}

  // Consumes bytes until the terminator; returns how many of `in` were used.
  // Bytes after the terminator (pipelined commands) are left to the caller.
  size_t Feed(std::string_view in);

  // Stop keeping the content (the ingress byte budget is exhausted); it is
  // still scanned for the terminator, so the connection stays in sync.
  void Discard();
  bool discarding() const { return discarding_; }

  bool done() const { return state_ == State::kDone; }
  // The first problem seen (size beats line-level problems), kOk if none.
  Outcome outcome() const;
  uint64_t size() const { return size_; }
  // The unstuffed content with CRLF line ends, without the final ".CRLF".
  // Empty-ish (truncated) when the outcome is kTooBig.
  std::string& message() { return message_; }

 private:
  enum class State { kLineStart, kDot, kDotCr, kMid, kCr, kDone };
  void Emit(std::string_view bytes);
  void EmitByte(char c) { Emit(std::string_view(&c, 1)); }
  void CountLine(size_t n);

  uint64_t max_size_;
  size_t max_line_length_;
  State state_ = State::kLineStart;
  uint64_t size_ = 0;
  size_t line_length_ = 0;
  bool too_big_ = false;
  bool line_too_long_ = false;
  bool bare_ = false;
  bool discarding_ = false;
  std::string message_;
};

}  // namespace sg::ingress
