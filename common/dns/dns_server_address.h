// A DNS server address from configuration: "192.0.2.1", "192.0.2.1:5353",
// "::1", "[::1]:5353". c-ares needs IP literals, so a host name is refused.
// (keyservice.dns and egress.dns parse theirs by hand; they can move here.)
//
// Threading: pure function. Errors: kInvalidArgument naming the text.
#pragma once

#include <string_view>

#include "common/dns/dns_resolver.h"
#include "common/result.h"

namespace sg::dns {

Result<Server> ParseServerAddress(std::string_view text);

}  // namespace sg::dns
