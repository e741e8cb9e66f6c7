// libFuzzer target: the egress DATA writer (egress/egress_data_writer.h).
//
// Invariants, for any input:
//   - DotStuff succeeds exactly when the input has no bare CR or LF;
//   - its output never has a bare CR or LF (no SMTP smuggling, RFC 5321 2.3.8);
//   - the only line that is a lone "." is the last one;
//   - undoing the dot-stuffing gives the input back byte for byte (plus the
//     CRLF a last line without one gets): the writer never rewrites a
//     message, whose bytes may be signed.
// Built as a libFuzzer binary with clang, and as a smoke test with the
// driver in tests/support/fuzz_smoke_main.cc in every build.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include "egress/egress_data_writer.h"

namespace {

[[noreturn]] void Violated(const char* what, std::string_view input) {
  std::fprintf(stderr, "egress writer invariant violated: %s (input of %zu bytes)\n", what,
               input.size());
  std::abort();
}

// The message a receiver reconstructs from the DATA bytes.
std::string Unstuff(std::string_view data) {
  std::string out;
  size_t p = 0;
  while (p < data.size()) {
    size_t e = data.find("\r\n", p);
    std::string_view line = data.substr(p, e - p);
    if (line == ".") break;
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    out.append(line);
    out += "\r\n";
    p = e + 2;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t bare = sg::egress::FindBareLineEnding(input);
  auto stuffed = sg::egress::DotStuff(input);
  if (stuffed.ok() != (bare == std::string_view::npos)) Violated("refusal != bare line ending", input);
  if (!stuffed.ok()) {
    if (input[bare] != '\r' && input[bare] != '\n') Violated("offset is not a CR or LF", input);
    return 0;
  }
  const std::string& out = *stuffed;
  if (sg::egress::FindBareLineEnding(out) != std::string_view::npos) {
    Violated("output has a bare CR or LF", input);
  }
  if (!out.ends_with("\r\n.\r\n") && out != ".\r\n") Violated("no final dot line", input);
  if (out.find("\r\n.\r\n") != out.size() - 5 && out != ".\r\n") {
    Violated("a lone dot line before the end", input);
  }
  if (out.starts_with(".\r\n") && out.size() != 3) Violated("a lone dot line first", input);
  std::string expect(input);
  if (!expect.empty() && !expect.ends_with("\r\n")) expect += "\r\n";
  if (Unstuff(out) != expect) Violated("unstuffed output differs from the input", input);
  return 0;
}
