#include "bench/e2e/loadgen/loadgen_reply_parser.h"

namespace sg::bench::loadgen {

bool ReplyParser::ParseLine(int& code, bool& final_line) const {
  if (line_.size() < 3) return false;
  code = 0;
  for (int i = 0; i < 3; ++i) {
    char d = line_[i];
    if (d < '0' || d > '9') return false;
    code = code * 10 + (d - '0');
  }
  if (code < 200 || code > 599) return false;
  if (line_.size() == 3 || line_[3] == ' ') {
    final_line = true;
  } else if (line_[3] == '-') {
    final_line = false;
  } else {
    return false;
  }
  return true;
}

}  // namespace sg::bench::loadgen
