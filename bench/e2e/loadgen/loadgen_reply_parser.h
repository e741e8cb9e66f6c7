// Incremental SMTP reply parser (client side).
//
// Purpose: turn the server's byte stream into complete replies. Multi-line
// replies ("250-a" ... "250 z") yield one reply; pipelined replies yield in
// order; lines may be split across reads at any byte.
// Threading: one instance per connection, used on its loop thread only.
#pragma once

#include <cstddef>
#include <string>

namespace sg::bench::loadgen {

class ReplyParser {
 public:
  static constexpr size_t kMaxLine = 4096;

  // Calls on_reply(int code) for each complete reply in [data, data+len).
  // Returns false on a malformed reply (not three digits + SP/-/end, a line
  // longer than kMaxLine, or a continuation with a different code); the
  // connection should then be dropped.
  template <typename F>
  bool Feed(const char* data, size_t len, F&& on_reply) {
    for (size_t i = 0; i < len; ++i) {
      char c = data[i];
      if (c != '\n') {
        if (line_.size() >= kMaxLine) return false;
        line_.push_back(c);
        continue;
      }
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      int code = 0;
      bool final_line = false;
      if (!ParseLine(code, final_line)) return false;
      line_.clear();
      if (pending_code_ != 0 && pending_code_ != code) return false;
      if (final_line) {
        pending_code_ = 0;
        on_reply(code);
      } else {
        pending_code_ = code;
      }
    }
    return true;
  }

  void Reset() {
    line_.clear();
    pending_code_ = 0;
  }

 private:
  bool ParseLine(int& code, bool& final_line) const;

  std::string line_;
  int pending_code_ = 0;  // code of an unfinished multi-line reply
};

}  // namespace sg::bench::loadgen
