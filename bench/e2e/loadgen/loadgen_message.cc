#include "bench/e2e/loadgen/loadgen_message.h"

#include <cstdio>
#include <ctime>

namespace sg::bench::loadgen {

std::string NormalizeCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(c);
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string DotStuff(std::string_view crlf_text) {
  std::string out;
  out.reserve(crlf_text.size() + 16);
  bool line_start = true;
  for (char c : crlf_text) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = (c == '\n');
  }
  return out;
}

namespace {

// Deterministic, varied ASCII text: lines of words, each line <= 76 chars.
// Every 7th line starts with '.' so that dot-stuffing is exercised on every run.
std::string GenerateBody(uint64_t bytes) {
  static const char* const kWords[] = {
      "gateway",     "message",    "signed",     "encrypted", "relay",    "latency",   "throughput",
      "certificate", "partner",    "domain",     "queue",     "worker",   "envelope",  "digest",
      "sample",      "text",       "lorem",      "ipsum",     "dolor",    "sit",       "amet",
      "consectetur", "adipiscing", "elit",       "sed",       "do",       "eiusmod",   "tempor",
      "incididunt",  "labore",     "0123456789", "benchmark", "loopback", "pipelining"};
  constexpr size_t kNumWords = sizeof(kWords) / sizeof(kWords[0]);
  std::string body;
  body.reserve(bytes + 80);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  uint64_t line_no = 0;
  while (body.size() < bytes) {
    std::string line;
    if (line_no % 7 == 3) line = ".";
    size_t target = 40 + (state >> 59) % 36;  // 40..75 chars
    while (line.size() < target) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const char* w = kWords[(state >> 33) % kNumWords];
      size_t wl = std::char_traits<char>::length(w);
      if (line.size() + wl + 1 > 76) break;
      if (!line.empty() && line != ".") line.push_back(' ');
      line += w;
    }
    line_no++;
    body += line;
    body += "\r\n";
  }
  return body;
}

std::string RfcDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

constexpr std::string_view kTerminator = ".\r\n";

}  // namespace

MessageFactory::MessageFactory(Config config) : config_(std::move(config)), date_(RfcDate()) {
  if (config_.template_text) {
    shared_plain_ = NormalizeCrlf(*config_.template_text);
  } else {
    std::string headers;
    RenderHeaders(0, headers);
    uint64_t header_bytes = headers.size() + 2;  // + blank line
    uint64_t body_bytes = config_.size > header_bytes ? config_.size - header_bytes : 0;
    shared_plain_ = GenerateBody(body_bytes);
  }
  shared_ = DotStuff(shared_plain_);
}

std::string MessageFactory::BenchId(uint64_t seq) const {
  return config_.run_id + "-" + std::to_string(seq);
}

void MessageFactory::RenderHeaders(uint64_t seq, std::string& out) const {
  out.clear();
  std::string id = BenchId(seq);
  if (config_.template_text) {
    out.append("X-Bench-Id: ").append(id).append("\r\n");
    return;
  }
  out.append("From: <").append(config_.from).append(">\r\n");
  out.append("To: <").append(Recipient(seq)).append(">\r\n");
  out.append("Subject: smimegate bench message ").append(id).append("\r\n");
  out.append("Date: ").append(date_).append("\r\n");
  out.append("Message-ID: <").append(id).append("@loadgen.bench>\r\n");
  out.append("X-Bench-Id: ").append(id).append("\r\n");
  out.append("MIME-Version: 1.0\r\n");
  out.append("Content-Type: text/plain; charset=us-ascii\r\n");
}

int MessageFactory::Render(uint64_t seq, std::string& scratch, uv_buf_t* bufs) const {
  RenderHeaders(seq, scratch);
  if (!config_.template_text) scratch += "\r\n";  // end of the header section
  bufs[0] = uv_buf_init(scratch.data(), static_cast<unsigned>(scratch.size()));
  bufs[1] = uv_buf_init(const_cast<char*>(shared_.data()), static_cast<unsigned>(shared_.size()));
  bufs[2] =
      uv_buf_init(const_cast<char*>(kTerminator.data()), static_cast<unsigned>(kTerminator.size()));
  return 3;
}

uint64_t MessageFactory::MessageBytes() const {
  std::string h;
  RenderHeaders(0, h);
  return h.size() + (config_.template_text ? 0 : 2) + shared_plain_.size();
}

std::string MessageFactory::Unstuffed(uint64_t seq) const {
  std::string h;
  RenderHeaders(seq, h);
  if (!config_.template_text) h += "\r\n";
  return h + shared_plain_;
}

}  // namespace sg::bench::loadgen
