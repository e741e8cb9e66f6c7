// libFuzzer target for the SMTP command parser and the DATA state machine.
//
// Input: first byte picks the mode; the rest is a command line (mode 0) or
// DATA content (mode 1). Properties checked beyond "no crash, no hang":
//   - a parsed path with non-ASCII is valid UTF-8, a null path is empty;
//   - DataReader consumes only up to the terminator and gives the same
//     result however the input is split;
//   - a clean message, dot-stuffed again and terminated, reads back to
//     exactly the same content (what egress will do when relaying it).
//
// Built as a libFuzzer binary with clang (-fsanitize=fuzzer); with g++ it
// runs under fuzz_smoke_main.cc over seeds plus random mutations.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingress/smtp_data_reader.h"
#include "ingress/smtp_parser.h"

namespace {

void Check(bool cond) {
  if (!cond) std::abort();
}

void FuzzParser(std::string_view line) {
  auto r = sg::ingress::ParseCommand(line);
  if (auto* c = std::get_if<sg::ingress::Command>(&r)) {
    if (c->path.non_ascii) Check(sg::ingress::IsValidUtf8(c->path.address));
    if (c->path.null) Check(c->path.address.empty());
    Check(c->path.address.size() <= 256);
  } else {
    const auto& reply = std::get<sg::ingress::Reply>(r);
    Check(reply.code >= 500 && reply.code < 600);
    Check(!reply.status.empty());
  }
}

void FuzzData(std::string_view in, size_t split) {
  sg::ingress::DataReader whole(4096, 200);
  size_t n = whole.Feed(in);
  Check(n <= in.size());
  if (whole.done()) {
    Check(n >= 3 && in.substr(n - 3, 3) == ".\r\n");
  } else {
    Check(n == in.size());
  }
  sg::ingress::DataReader parts(4096, 200);
  split = in.empty() ? 0 : split % (in.size() + 1);
  size_t m = parts.Feed(in.substr(0, split));
  if (!parts.done()) m += parts.Feed(in.substr(split));
  Check(m == n);
  Check(parts.done() == whole.done());
  Check(parts.outcome() == whole.outcome());
  Check(parts.message() == whole.message());
  if (whole.done() && whole.outcome() == sg::ingress::DataReader::Outcome::kOk) {
    const std::string& msg = whole.message();
    std::string stuffed;
    bool line_start = true;
    for (char c : msg) {
      if (line_start && c == '.') stuffed += '.';
      stuffed += c;
      line_start = c == '\n';
    }
    Check(msg.empty() || msg.size() >= 2);
    stuffed += ".\r\n";
    sg::ingress::DataReader again(4096, 200);
    Check(again.Feed(stuffed) == stuffed.size());
    Check(again.done());
    Check(again.message() == msg);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (data[0] % 2 == 0) {
    // One command per line, as the session would hand them over.
    size_t pos = 0;
    while (pos <= in.size()) {
      size_t nl = in.find('\n', pos);
      std::string_view line = in.substr(pos, nl == std::string_view::npos ? in.npos : nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      FuzzParser(line);
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
  } else {
    FuzzData(in, data[1]);
  }
  return 0;
}
