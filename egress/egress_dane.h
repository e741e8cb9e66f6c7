// DANE TLSA (RFC 7672) for MX delivery: whether, and how, the TLS of a
// session to one MX host is authenticated by DNSSEC-validated TLSA records.
//
// PolicyFor(host) asks the validating resolver (egress.dns.servers with
// egress.dns.trust_ad) for record sets, one after the other:
//   1. the host's A and then its AAAA records: DANE applies only when the
//      host's address records are secure (RFC 7672 2.2.2), both families,
//      since egress connects to either. c-ares's address look-up cannot
//      tell, so each RRset is asked for separately with the AD bit; a
//      validated "no records of this family" counts as secure. The
//      addresses connected to still come from the ordinary look-up through
//      the same validating resolver. The A answer's CNAME chain (validated
//      with it) gives the host's fully CNAME-expanded name.
//   2. TLSA (always port 25: the SMTP service of the MX host, whatever port
//      egress connects to) at `_25._tcp.<expanded name>` first when the
//      host is an alias, and at `_25._tcp.<host>` when there is no alias or
//      the expanded name has no validated TLSA records (RFC 7672 2.2.3 with
//      RFC 7671 7). Where the records were found is the TLSA base domain
//      (DaneLookup::base_domain): the SNI name and the first reference
//      identifier of the session (RFC 7671 10.2); the MX host name stays a
//      reference identifier (egress_tls.h DaneTarget).
// The outcomes (DecideDaneAddress / DecideDaneTlsa, pure functions):
//   kNone     insecure (AD clear) address or TLSA records, or a validated
//             NXDOMAIN / NODATA for the TLSA name: no DANE, the session
//             falls through to MTA-STS or the route's policy;
//   kDane     a secure TLSA RRset with usable records (usages DANE-TA(2) and
//             DANE-EE(3), selectors 0/1, matching types 0/1/2 with the
//             digest's length; PKIX-TA(0) / PKIX-EE(1) are ignored, RFC 7672
//             3.1.3): STARTTLS is mandatory and the certificate must match;
//   kUnusable a secure TLSA RRset without a usable record: STARTTLS is
//             mandatory but the certificate is not authenticated (RFC 7672
//             2.2, "encrypted but unauthenticated");
//   kBogus    the look-up failed (SERVFAIL, the validating resolver's answer
//             to a bogus record set, a timeout, a malformed answer): the host
//             must not be used (RFC 7672 2.2.2), the caller tries the next
//             one; counted as TLS-RPT dnssec-invalid.
// Answers are cached per host for the smallest TTL of the answers, capped at
// egress.dane.max_ttl (negative answers by the SOA's negative TTL); failed
// look-ups are not cached. At most cache_entries hosts (expired ones first,
// then any, are dropped). One look-up per host at a time; others wait.
//
// Threading: loop thread only; callbacks on the loop thread. Ownership:
// the resolver, clock and config outlive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/dns/tlsa_record.h"
#include "egress/egress_config.h"
#include "egress/egress_dns.h"

namespace sg::egress {

enum class DaneOutcome { kNone, kDane, kUnusable, kBogus };

struct DaneLookup {
  DaneOutcome outcome = DaneOutcome::kNone;
  std::vector<dns::TlsaRecord> records;  // kDane: the usable records
  std::string reason;                    // why (logs, the deferral text)
  uint32_t ttl = 0;                      // seconds the answer may be cached
  std::string base_domain;               // kDane / kUnusable: where the TLSA records are
};

// Step 1: the authenticated A or AAAA (`type`) answer of the MX host. A final
// outcome (kNone: insecure; kBogus: failed), or nullopt when secure: go on.
std::optional<DaneLookup> DecideDaneAddress(const std::string& host, const char* type,
                                            const Result<dns::AuthenticatedAnswer>& answer);
// Step 2: the authenticated TLSA answer of `_25._tcp.<base_domain>`. kNone
// at a CNAME-expanded name means: ask at the MX host name itself.
DaneLookup DecideDaneTlsa(const std::string& base_domain,
                          const Result<dns::AuthenticatedAnswer>& answer);
// Whether OpenSSL can use `r` for SMTP (RFC 7672 3.1): usage 2 or 3,
// selector 0 or 1, matching type 0, 1 (32 octets) or 2 (64 octets).
bool DaneUsable(const dns::TlsaRecord& r);

class Dane {
 public:
  Dane(Resolver& resolver, const Clock& clock, const DaneConfig& config);

  void PolicyFor(const std::string& host, std::function<void(DaneLookup)> done);

 private:
  // One look-up under way: the host, its CNAME-expanded name ("" when none)
  // and the smallest TTL so far.
  struct Pending {
    std::string host;
    std::string expanded;
    uint32_t ttl = UINT32_MAX;
  };
  void OnAddress(Pending p, uint16_t qtype, const Result<dns::AuthenticatedAnswer>& answer);
  void AskTlsa(const Pending& p, const std::string& base_domain);
  void Finish(const std::string& host, DaneLookup lookup);

  struct Cached {
    DaneLookup lookup;
    int64_t expires_ms = 0;
  };
  Resolver& resolver_;
  const Clock& clock_;
  const DaneConfig& config_;
  std::map<std::string, Cached> cache_;
  std::map<std::string, std::vector<std::function<void(DaneLookup)>>> waiting_;  // by host
};

}  // namespace sg::egress
