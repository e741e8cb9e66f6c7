// Message generation for the load generator.
//
// Purpose: the bytes of message number `seq` as they go on the wire after the
// server's 354: already dot-stuffed, CRLF, ending in ".\r\n". The large part
// (generated body or template) is built once and shared by all messages; only
// a small per-message header block is formatted for each send, so a 1 MB run
// does not copy 1 MB per message.
// Threading: built once before the loop starts, then read-only (Render writes
// only into the caller's scratch string).
// Ownership: the uv_buf_t's returned point into this object and into `scratch`;
// both must outlive the write.
#pragma once

#include <uv.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::bench::loadgen {

// LF and CRLF line ends -> CRLF (a lone CR stays as is); appends a final CRLF
// when the text does not end with a line break.
std::string NormalizeCrlf(std::string_view text);
// SMTP transparency (RFC 5321 4.5.2): a '.' at the start of a line is doubled.
// Input must already be CRLF-normalised.
std::string DotStuff(std::string_view crlf_text);

class MessageFactory {
 public:
  struct Config {
    std::string run_id;
    std::string from;
    std::vector<std::string> to;
    uint64_t size = 10240;
    std::optional<std::string> template_text;  // raw file content when --template
  };

  explicit MessageFactory(Config config);

  // Recipient of message `seq` (round robin over --to).
  const std::string& Recipient(uint64_t seq) const { return config_.to[seq % config_.to.size()]; }
  // The X-Bench-Id value of message `seq`: "<run-id>-<seq>".
  std::string BenchId(uint64_t seq) const;
  // Fills bufs (at least 3) with the message after 354 incl. the final ".\r\n";
  // returns how many bufs were used.
  int Render(uint64_t seq, std::string& scratch, uv_buf_t* bufs) const;
  // Wire size (before dot-stuffing is undone) of a typical message.
  uint64_t MessageBytes() const;
  // The message exactly as a receiver sees it after un-stuffing (for tests).
  std::string Unstuffed(uint64_t seq) const;

 private:
  void RenderHeaders(uint64_t seq, std::string& out) const;

  Config config_;
  std::string date_;          // RFC 5322 date, fixed for the run
  std::string shared_;        // dot-stuffed body (generated) or template, CRLF-terminated
  std::string shared_plain_;  // same, not stuffed (for Unstuffed)
};

}  // namespace sg::bench::loadgen
