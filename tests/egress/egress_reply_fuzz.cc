// Fuzz target for the egress SMTP reply parser (egress_smtp_reply.h): what a
// remote server answers is hostile input.
//
// Input: byte 0 picks the chunk size (1..64); the rest is the server's bytes.
// Properties beyond "no crash":
//   - the same replies (and the same success or failure) whether the bytes
//     arrive at once or in chunks;
//   - every reply has a code 200..599, 1..kMaxLines lines of at most
//     kMaxLine octets and no line break inside a line;
//   - the RFC 3463 status taken from a failure reply is "class.subject.detail"
//     with the reply's class and at most three digits per part (it goes into
//     the DSN's Status field);
//   - EHLO capabilities parse from any reply.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/smtp_reply.h"
#include "egress/egress_smtp_reply.h"
#include "tests/support/fuzz_check.h"

namespace {

using sg::egress::ReplyParser;
using sg::egress::SmtpReply;

bool SameReplies(const std::vector<SmtpReply>& a, const std::vector<SmtpReply>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].code != b[i].code || a[i].lines != b[i].lines) return false;
  }
  return true;
}

// "5.1.1": class digit, then two parts of one to three digits (RFC 3463 section 2).
bool IsEnhancedStatus(const std::string& s, int reply_class) {
  if (s.size() < 5 || s[0] != static_cast<char>('0' + reply_class) || s[1] != '.') return false;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (digits < 1 || digits > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

void CheckReply(const SmtpReply& r) {
  SG_FUZZ_CHECK(r.code >= 200 && r.code <= 599);
  SG_FUZZ_CHECK(!r.lines.empty() && r.lines.size() <= ReplyParser::kMaxLines);
  for (const std::string& l : r.lines) {
    SG_FUZZ_CHECK(l.size() <= ReplyParser::kMaxLine);
    SG_FUZZ_CHECK(l.find('\n') == std::string::npos);
  }
  if (r.code >= 400) {
    SG_FUZZ_CHECK(IsEnhancedStatus(sg::mail::StatusFromReply(r.code, r.Text()), r.code / 100));
  }
  sg::egress::EhloCaps caps = sg::egress::ParseEhloCaps(r);
  SG_FUZZ_CHECK(caps.max_size == 0 || caps.size);
  SG_FUZZ_CHECK(r.ToString().rfind(std::to_string(r.code), 0) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  ReplyParser whole;
  std::vector<SmtpReply> whole_out;
  const bool whole_ok = whole.Feed(in, whole_out).ok();

  ReplyParser parts;
  std::vector<SmtpReply> parts_out;
  bool parts_ok = true;
  for (size_t pos = 0; pos < in.size() && parts_ok; pos += chunk) {
    parts_ok = parts.Feed(in.substr(pos, chunk), parts_out).ok();
  }
  SG_FUZZ_CHECK(whole_ok == parts_ok);
  SG_FUZZ_CHECK(SameReplies(whole_out, parts_out));
  if (whole_ok) SG_FUZZ_CHECK(whole.HasPartial() == parts.HasPartial());
  for (const SmtpReply& r : whole_out) CheckReply(r);
  return 0;
}
