// Reading the header section of a message as the ingress received it (CRLF
// line ends; checked by DataReader / LineChecker before any step looks).
// Only what the SMTP steps need: counting fields (the Received: hop limit)
// and the unfolded values of a field (From, for sender binding).
//
// The header section ends at the first empty line, or at the end of the
// content when there is none.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sg::ingress {

// Fields named `name` (case-insensitive), counting at most `stop_at` (so a
// message with a million Received: lines costs no more than the limit).
size_t CountHeaderFields(std::string_view message, std::string_view name, size_t stop_at);

// The values of every field named `name`, unfolded (CRLF before a
// continuation line removed), in order.
std::vector<std::string> HeaderFieldValues(std::string_view message, std::string_view name);

}  // namespace sg::ingress
