#include "ingress/smtp_data_reader.h"

#include <algorithm>
#include <cstring>

namespace sg::ingress {

DataReader::Outcome DataReader::outcome() const {
  if (too_big_) return Outcome::kTooBig;
  if (bare_) return Outcome::kBareLineEnding;
  if (line_too_long_) return Outcome::kLineTooLong;
  return Outcome::kOk;
}

void DataReader::Discard() {
  discarding_ = true;
  std::string().swap(message_);
}

void DataReader::Emit(std::string_view bytes) {
  size_ += bytes.size();
  if (discarding_) return;
  if (size_ > max_size_) {
    if (!too_big_) {
      too_big_ = true;
      message_.clear();
      message_.shrink_to_fit();
    }
    return;
  }
  message_.append(bytes);
}

void DataReader::CountLine(size_t n) {
  line_length_ += n;
  if (line_length_ > max_line_length_) line_too_long_ = true;
}

size_t DataReader::Feed(std::string_view in) {
  size_t i = 0;
  while (i < in.size() && state_ != State::kDone) {
    const char c = in[i];
    switch (state_) {
      case State::kLineStart:
        line_length_ = 0;
        if (c == '.') {
          state_ = State::kDot;
          CountLine(1);
          ++i;
        } else {
          state_ = State::kMid;  // reprocess c as line content
        }
        break;
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++i;
        } else {
          // Dot-stuffing: the leading dot goes, the rest of the line stays.
          state_ = State::kMid;
        }
        break;
      case State::kDotCr:
        if (c == '\n') {
          state_ = State::kDone;
          ++i;
        } else {
          // ".\r" + something: a bare CR, data, not an end.
          bare_ = true;
          EmitByte('\r');
          state_ = State::kMid;
        }
        break;
      case State::kMid: {
        // Fastest path, the common case: a whole CRLF line with no other CR
        // or LF in it goes out in one piece (memchr is vectorised).
        const char* base = in.data();
        if (const void* lf = std::memchr(base + i, '\n', in.size() - i)) {
          const size_t nl = static_cast<size_t>(static_cast<const char*>(lf) - base);
          if (nl > i && base[nl - 1] == '\r' &&
              std::memchr(base + i, '\r', nl - 1 - i) == nullptr) {
            CountLine(nl - 1 - i);
            Emit(in.substr(i, nl + 1 - i));
            state_ = State::kLineStart;
            i = nl + 1;
            break;
          }
        }
        // Otherwise copy up to the next CR or LF in one go.
        auto it = std::find_if(in.begin() + static_cast<std::ptrdiff_t>(i), in.end(),
                               [](char x) { return x == '\r' || x == '\n'; });
        size_t end = static_cast<size_t>(it - in.begin());
        if (end > i) {
          Emit(in.substr(i, end - i));
          CountLine(end - i);
          i = end;
          break;
        }
        if (c == '\r') {
          state_ = State::kCr;
        } else {  // '\n' without CR: kept as data, never a line start
          bare_ = true;
          EmitByte('\n');
        }
        ++i;
        break;
      }
      case State::kCr:
        if (c == '\n') {
          Emit("\r\n");
          state_ = State::kLineStart;
          ++i;
        } else {
          bare_ = true;
          EmitByte('\r');
          if (c == '\r') {
            ++i;  // still after a CR
          } else {
            state_ = State::kMid;
          }
        }
        break;
      case State::kDone:
        break;
    }
  }
  return i;
}

}  // namespace sg::ingress
