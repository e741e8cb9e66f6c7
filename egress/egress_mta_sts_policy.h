// MTA-STS (RFC 8461) policy text: the `_mta-sts.<domain>` TXT record
// ("v=STSv1; id=..."), the policy file served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt, and the MX pattern
// match ("mx.example.com" exactly, "*.example.com" for one left-most label).
//
// Threading: plain functions and values.
// Errors: kInvalidArgument naming what is wrong with the record or policy
// (a TLS-RPT "sts-policy-invalid").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sg::egress {

enum class StsMode { kEnforce, kTesting, kNone };

const char* StsModeName(StsMode mode);

struct StsPolicy {
  StsMode mode = StsMode::kNone;
  std::vector<std::string> mx;  // patterns, lower case
  int64_t max_age_s = 0;        // seconds, at most 31557600 (RFC 8461 3.2)
  // Whether `host` (an MX host name, any case, a trailing dot allowed) is
  // one of the policy's mx patterns.
  bool AllowsMx(std::string_view host) const;
};

// The id of the one TXT record that starts with "v=STSv1" among `records`;
// kNotFound when none does, kInvalidArgument when there are several or the
// id is malformed (RFC 8461 3.1: then the domain has no usable policy).
Result<std::string> ParseStsTxt(const std::vector<std::string>& records);

// The policy file's text (CRLF or LF lines, "key: value").
Result<StsPolicy> ParseStsPolicy(std::string_view text);

// RFC 8461 4.1: `pattern` is a host name or "*." plus a domain, which
// matches exactly one more left-most label.
bool StsMxMatches(std::string_view pattern, std::string_view host);

}  // namespace sg::egress
