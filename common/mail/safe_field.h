// Values from hostile input (peer replies, client names, header fields) in
// the messages the gateway generates (DSNs, test-address reports): one
// line, printable ASCII, bounded.
//
// Threading: pure function.
#pragma once

#include <cstddef>
#include <string>

namespace sg::mail {

// |s| on one line and in printable ASCII, at most |max| bytes: CR, LF and
// TAB become one space, other control and non-ASCII bytes '?'.
std::string SafeField(const std::string& s, size_t max = 900);

}  // namespace sg::mail
