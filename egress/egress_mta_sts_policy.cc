#include "egress/egress_mta_sts_policy.h"

#include <charconv>

#include "common/ascii.h"

namespace sg::egress {
namespace {

constexpr int64_t kMaxAgeLimit = 31'557'600;  // RFC 8461 3.2: about one year
constexpr size_t kMaxIdLength = 32;

std::string_view StripDot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

Error Invalid(const std::string& what) {
  return Error{ErrorCode::kInvalidArgument, "MTA-STS policy: " + what};
}

}  // namespace

const char* StsModeName(StsMode mode) {
  switch (mode) {
    case StsMode::kEnforce:
      return "enforce";
    case StsMode::kTesting:
      return "testing";
    case StsMode::kNone:
      break;
  }
  return "none";
}

bool StsMxMatches(std::string_view pattern, std::string_view host) {
  const std::string p = AsciiLower(StripDot(pattern));
  const std::string h = AsciiLower(StripDot(host));
  if (p.rfind("*.", 0) != 0) return p == h;
  const std::string_view suffix = std::string_view(p).substr(1);  // ".example.com"
  if (h.size() <= suffix.size()) return false;
  if (h.compare(h.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  // Exactly one label in place of the "*".
  return h.substr(0, h.size() - suffix.size()).find('.') == std::string::npos;
}

bool StsPolicy::AllowsMx(std::string_view host) const {
  for (const auto& p : mx) {
    if (StsMxMatches(p, host)) return true;
  }
  return false;
}

Result<std::string> ParseStsTxt(const std::vector<std::string>& records) {
  std::string id;
  int found = 0;
  for (const auto& r : records) {
    std::string_view rest = AsciiTrim(r);
    if (rest.rfind("v=STSv1", 0) != 0) continue;
    ++found;
    // "v=STSv1; id=20160831085700Z; ext=..." (fields split by ';').
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view field = AsciiTrim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      if (field.rfind("id=", 0) == 0) id = std::string(field.substr(3));
    }
  }
  if (found == 0) return MakeError(ErrorCode::kNotFound, "no v=STSv1 TXT record");
  if (found > 1) return Invalid("more than one v=STSv1 TXT record");
  if (id.empty() || id.size() > kMaxIdLength) return Invalid("TXT record id missing or too long");
  for (char c : id) {
    if (!IsAlnum(c)) return Invalid("TXT record id '" + id + "' is not 1-32 letters and digits");
  }
  return id;
}

Result<StsPolicy> ParseStsPolicy(std::string_view text) {
  StsPolicy policy;
  bool version = false, mode = false, max_age = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (AsciiTrim(line).empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Invalid("line without ':'");
    const std::string key(AsciiTrim(line.substr(0, colon)));
    const std::string value(AsciiTrim(line.substr(colon + 1)));
    if (key == "version") {
      if (value != "STSv1") return Invalid("version '" + value + "' is not STSv1");
      version = true;
    } else if (key == "mode") {
      if (value == "enforce") {
        policy.mode = StsMode::kEnforce;
      } else if (value == "testing") {
        policy.mode = StsMode::kTesting;
      } else if (value == "none") {
        policy.mode = StsMode::kNone;
      } else {
        return Invalid("mode '" + value + "' is not enforce, testing or none");
      }
      mode = true;
    } else if (key == "max_age") {
      int64_t n = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 0 || value.size() > 10) {
        return Invalid("max_age '" + value + "' is not a number of seconds");
      }
      policy.max_age_s = std::min(n, kMaxAgeLimit);
      max_age = true;
    } else if (key == "mx") {
      if (value.empty()) return Invalid("empty mx");
      policy.mx.push_back(AsciiLower(value));
    }  // other keys: extensions, ignored (RFC 8461 3.2)
  }
  if (!version) return Invalid("no version: STSv1");
  if (!mode) return Invalid("no mode");
  if (!max_age) return Invalid("no max_age");
  if (policy.mode != StsMode::kNone && policy.mx.empty()) {
    return Invalid("no mx in a policy that is not mode none");
  }
  return policy;
}

}  // namespace sg::egress
