// DNS messages for the authenticated lookups of CaresResolver
// (ResolveAuthenticated): the query, built with libldns so it carries the AD
// bit (RFC 6840 5.7) and EDNS with the DO bit (RFC 3225), and the answer,
// parsed with libldns into the RDATA of the asked type plus the AD bit and
// the TTLs a cache needs. c-ares only sends and receives the bytes.
//
// Whether an AD bit can be believed is not decided here: only the resolver
// knows whether its servers are configured, validating resolvers
// (ResolverOptions::trust_ad).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sg::dns {

// RR types of the authenticated lookups (RFC 6698, RFC 8162).
inline constexpr uint16_t kTypeTlsa = 52;
inline constexpr uint16_t kTypeSmimea = 53;
// The EDNS UDP payload size of every query (DNS flag day 2020).
inline constexpr uint16_t kEdnsUdpSize = 1232;

// One parsed answer.
struct ParsedAnswer {
  bool ad = false;          // the AD bit of the answer as received
  bool name_exists = true;  // false: NXDOMAIN
  uint32_t ttl = 0;  // records: their smallest TTL; none: the SOA's negative TTL (0 if no SOA)
  std::vector<std::string> rdata;  // wire RDATA of each answer record of the asked type
  // The asked name with the answer's CNAME chain followed (lower case, no
  // trailing dot): the asked name itself when the answer has no CNAME for it.
  std::string canonical_name;
};

// A recursive query for `name` / `qtype` with RD, AD and EDNS (DO, a
// 1232-byte UDP size: the DNS flag day 2020 value). The ID is left to c-ares.
// Errors: kInvalidArgument for a name that is no valid domain name.
Result<std::string> BuildAuthenticatedQuery(const std::string& name, uint16_t qtype);

// Parses a response to BuildAuthenticatedQuery. NOERROR and NXDOMAIN are
// answers; any other RCODE is kUnavailable (a validating resolver answers
// SERVFAIL for a bogus record set); bytes that are no DNS message are
// kCorruption. Records of other types (RRSIGs...) are skipped; a CNAME chain
// from the asked name is followed into canonical_name (at most 16 links: a
// longer chain, or a loop, is kCorruption).
Result<ParsedAnswer> ParseAuthenticatedAnswer(std::string_view wire, uint16_t qtype);

}  // namespace sg::dns
