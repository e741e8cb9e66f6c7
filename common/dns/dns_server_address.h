// DNS server addresses from configuration: "192.0.2.1", "192.0.2.1:5353",
// "::1", "[::1]:5353". c-ares needs IP literals, so a host name is refused.
// Every `*.dns.servers` key (egress, keyservice, workers.discovery) is read
// with ParseServerList, so they all accept the same forms with the same
// errors.
//
// Threading: pure functions. Errors: kInvalidArgument naming the text (and,
// for a list, the config key and the entry).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/config_node.h"
#include "common/dns/dns_resolver.h"
#include "common/result.h"

namespace sg::dns {

Result<Server> ParseServerAddress(std::string_view text);

// The string list `key` of `section` (missing: empty, i.e. /etc/resolv.conf),
// each entry parsed by ParseServerAddress; an error names `section`.`key`
// and the entry's index.
Result<std::vector<Server>> ParseServerList(const config::ConfigNode& section,
                                            const std::string& key = "servers");

}  // namespace sg::dns
