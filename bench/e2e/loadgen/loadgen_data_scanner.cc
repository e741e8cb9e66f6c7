#include "bench/e2e/loadgen/loadgen_data_scanner.h"

#include <algorithm>
#include <cstdint>

#include "common/ascii.h"

namespace sg::bench::loadgen {

void HeaderCollector::Append(const char* data, size_t len) {
  if (complete_) return;
  size_t old = header_.size();
  size_t take = std::min(len, kMaxHeaderBytes - old);
  header_.append(data, take);
  // An empty first line means "no header fields".
  if (header_.size() >= 1 && header_[0] == '\n') {
    header_.clear();
    complete_ = true;
    return;
  }
  if (header_.size() >= 2 && header_[0] == '\r' && header_[1] == '\n') {
    header_.clear();
    complete_ = true;
    return;
  }
  size_t from = old >= 3 ? old - 3 : 0;
  std::string_view view(header_);
  size_t crlf = view.find("\r\n\r\n", from);
  size_t lf = view.find("\n\n", from);
  size_t end = std::string_view::npos;
  if (crlf != std::string_view::npos) end = crlf + 2;
  if (lf != std::string_view::npos && (end == std::string_view::npos || lf + 1 < end)) end = lf + 1;
  if (end != std::string_view::npos) {
    header_.resize(end);
    complete_ = true;
  } else if (header_.size() >= kMaxHeaderBytes) {
    complete_ = true;  // truncated; search what we have
  }
}

namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

bool NameIs(std::string_view name, std::string_view want) {
  while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
  return AsciiEqualsIgnoreCase(name, want);
}

std::string_view Line(std::string_view s, size_t pos, size_t& next) {
  size_t nl = s.find('\n', pos);
  size_t end = nl == std::string_view::npos ? s.size() : nl;
  next = nl == std::string_view::npos ? s.size() : nl + 1;
  std::string_view line = s.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<std::string> FindBenchId(std::string_view h) {
  size_t pos = 0;
  while (pos < h.size()) {
    size_t next = 0;
    std::string_view line = Line(h, pos, next);
    pos = next;
    if (line.empty() || IsWsp(line[0])) continue;  // continuation of another field
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !NameIs(line.substr(0, colon), "x-bench-id")) continue;
    std::string value(line.substr(colon + 1));
    while (pos < h.size()) {  // unfold
      size_t after = 0;
      std::string_view cont = Line(h, pos, after);
      if (cont.empty() || !IsWsp(cont[0])) break;
      value.append(cont);
      pos = after;
    }
    size_t b = 0, e = value.size();
    while (b < e && IsWsp(value[b])) ++b;
    while (e > b && IsWsp(value[e - 1])) --e;
    std::string trimmed = value.substr(b, e - b);
    // Unfolding leaves no CR/LF; folded whitespace inside a token is removed.
    trimmed.erase(std::remove_if(trimmed.begin(), trimmed.end(), IsWsp), trimmed.end());
    return trimmed;
  }
  return std::nullopt;
}

std::optional<uint64_t> ParseBenchId(std::string_view value, std::string_view run_id) {
  if (value.size() < run_id.size() + 2) return std::nullopt;
  if (value.substr(0, run_id.size()) != run_id || value[run_id.size()] != '-') return std::nullopt;
  std::string_view digits = value.substr(run_id.size() + 1);
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  uint64_t seq = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

}  // namespace sg::bench::loadgen
