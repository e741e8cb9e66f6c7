#include "ingress/smtp_line_checker.h"

#include <cstring>

namespace sg::ingress {

void LineChecker::AddToLine(size_t n) {
  line_length_ += n;
  if (line_length_ > max_line_length_) too_long_ = true;
}

void LineChecker::Feed(std::string_view in) {
  const char* p = in.data();
  const size_t n = in.size();
  size_t i = 0;
  // Once a bare line ending is seen the message is refused whatever follows.
  while (i < n && !bare_) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (p[i] != '\n') {
        bare_ = true;
        return;
      }
      line_length_ = 0;
      ++i;
      continue;
    }
    // The common case: a whole CRLF line with no other CR in it (memchr is
    // vectorised, as in DataReader).
    const void* lf = std::memchr(p + i, '\n', n - i);
    if (lf != nullptr) {
      const size_t nl = static_cast<size_t>(static_cast<const char*>(lf) - p);
      if (nl > i && p[nl - 1] == '\r' && std::memchr(p + i, '\r', nl - 1 - i) == nullptr) {
        AddToLine(nl - 1 - i);
        line_length_ = 0;
        i = nl + 1;
        continue;
      }
    }
    // Otherwise: up to the next CR or LF.
    size_t end = i;
    while (end < n && p[end] != '\r' && p[end] != '\n') ++end;
    AddToLine(end - i);
    if (end == n) return;
    if (p[end] == '\n') {
      bare_ = true;  // an LF without its CR
      return;
    }
    pending_cr_ = true;
    i = end + 1;
  }
}

void LineChecker::Finish() {
  if (pending_cr_) bare_ = true;
  pending_cr_ = false;
}

}  // namespace sg::ingress
