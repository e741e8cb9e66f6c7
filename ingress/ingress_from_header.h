// The mailboxes of a message's From header fields, for sender binding on
// relay listeners (issue 13 point 6). Parsed with GMime (RFC 5322 address
// lists, groups, RFC 2047 display names), as the workers parse From when
// they pick the signing identity.
//
// Threading: thread-safe (GMime is initialised once).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sg::ingress {

// Every mailbox (lower-cased addr-spec) of every From field of `message`,
// group members included, in order. Empty when there is no From field.
// kInvalidArgument when a From field has no parsable mailbox.
Result<std::vector<std::string>> FromMailboxes(std::string_view message);

}  // namespace sg::ingress
