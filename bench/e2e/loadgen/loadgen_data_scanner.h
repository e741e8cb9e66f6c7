// Sink side of SMTP DATA: undoes dot-stuffing, finds the terminating
// "<CRLF>.<CRLF>", and extracts X-Bench-Id from the header section.
//
// Purpose: stream-oriented so that a message of any size is scanned once,
// without copies (content is handed out as slices of the read buffer), with
// lines and the terminator split across reads at any byte.
// Threading: one instance per sink connection, loop thread only.
#pragma once

#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sg::bench::loadgen {

class DataScanner {
 public:
  // Consumes message bytes from `data`; calls content(const char*, size_t) with
  // un-stuffed content. Returns the number of bytes consumed: all of `len`,
  // or fewer when the terminator ended the message (the rest is SMTP commands).
  template <typename F>
  size_t Feed(const char* data, size_t len, F&& content) {
    size_t i = 0;
    while (i < len) {
      switch (state_) {
        case State::kLineStart:
          if (data[i] == '.') {
            state_ = State::kDot;
            ++i;
          } else {
            state_ = State::kMidLine;
          }
          break;
        case State::kDot:  // the dot was stuffing unless CR LF follows
          if (data[i] == '\r') {
            state_ = State::kDotCr;
            ++i;
          } else {
            state_ = State::kMidLine;
          }
          break;
        case State::kDotCr:
          if (data[i] == '\n') {
            state_ = State::kLineStart;
            done_ = true;
            return i + 1;
          }
          content("\r", 1);
          state_ = State::kMidLine;
          break;
        case State::kMidLine: {
          const void* nl = std::memchr(data + i, '\n', len - i);
          size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) + 1 : len;
          content(data + i, end - i);
          i = end;
          if (nl) state_ = State::kLineStart;
          break;
        }
      }
    }
    return len;
  }

  bool done() const { return done_; }
  void Reset() {
    state_ = State::kLineStart;
    done_ = false;
  }

 private:
  enum class State { kLineStart, kDot, kDotCr, kMidLine };
  State state_ = State::kLineStart;
  bool done_ = false;
};

// Collects the header section (up to the first empty line) of a message fed
// in slices; stops copying once it is complete or exceeds kMaxHeaderBytes.
class HeaderCollector {
 public:
  static constexpr size_t kMaxHeaderBytes = 1 << 20;

  void Append(const char* data, size_t len);
  bool complete() const { return complete_; }
  // The header section so far (complete or truncated).
  std::string_view header() const { return header_; }
  void Reset() {
    header_.clear();
    complete_ = false;
  }

 private:
  std::string header_;
  bool complete_ = false;
};

// Value of the first X-Bench-Id field (case-insensitive name, unfolded,
// surrounding whitespace trimmed) in a header section; nullopt when absent.
std::optional<std::string> FindBenchId(std::string_view header_section);

// "<run_id>-<decimal seq>" -> seq when the run id matches.
std::optional<uint64_t> ParseBenchId(std::string_view value, std::string_view run_id);

}  // namespace sg::bench::loadgen
