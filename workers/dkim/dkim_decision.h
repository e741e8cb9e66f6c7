// Whether an outbound delivery form gets a DKIM signature (docs/dkim.md):
// a pure decision over facts the caller gathered, table-tested
// (tests/workers/dkim/dkim_decision_test.cc).
//
// Threading: pure functions.
#pragma once

#include <string_view>

#include "common/result.h"

namespace sg::dkim {

// workers.policy.dkim.sign
enum class DkimSignMode {
  kOff,       // never
  kModified,  // forms the gateway changed (signed, encrypted, tags removed ...): the default
  kAll,       // every outbound form
};
// "off" | "modified" | "all"; kInvalidArgument otherwise.
Result<DkimSignMode> ParseDkimSignMode(std::string_view text);

enum class DkimVerdict {
  kSign,
  kOff,         // sign: off
  kUnmodified,  // sign: modified, and the form is the message as received
  kNoFrom,      // no usable From domain
  kNoKey,       // the From domain has no active DKIM key
};
// The metric label: "signed" | "off" | "unmodified" | "no_from" | "no_key".
std::string_view DkimVerdictName(DkimVerdict verdict);

// Whether the key lookup is needed at all (before the facts below).
bool WantsDkim(DkimSignMode mode, bool modified);

DkimVerdict DecideDkim(DkimSignMode mode, bool modified, bool has_from_domain, bool has_key);

}  // namespace sg::dkim
