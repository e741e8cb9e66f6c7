// Mail addresses: the one parser and normaliser of the tree.
//
// Every stage that compares, looks up or stores an address by identity uses
// NormalizeAddress / NormalizeDomain / DomainOf from here: ingress (path
// syntax of MAIL/RCPT, hosted-domain checks), workers (policy rules, key
// lookups), keyservice (users, certificates, harvests) and egress (routes,
// per-domain connection pools). Because the ingress accepts a path only when
// ParseMailbox accepts it, no later stage can reject an address the gateway
// has already said 250 to.
//
// The policy, decided once (RFC 5321 4.1.2, RFC 5322 3.4.1, RFC 6531 3.3):
// - local part: Dot-string or Quoted-string. A quoted local part whose
//   content is a valid Dot-string is the same mailbox as the unquoted form
//   (RFC 5321 4.1.2: "\"alice\"@x" is "alice@x"); any other quoted content
//   stays quoted, with only '"' and '\' escaped. Non-ASCII (UTF-8, RFC 6531)
//   is accepted in both forms when it is valid UTF-8. At most 64 octets.
// - case: ASCII letters of the local part and of the domain are
//   lower-cased. RFC 5321 lets a server treat local parts as case-sensitive;
//   for key and policy lookups the gateway does not (users write their
//   addresses in any case). Non-ASCII letters are not case-folded and no
//   Unicode normalisation is applied to local parts (bytes as given).
// - domain: LDH labels (RFC 5321 Domain, at most 63 octets per label and
//   255 in all), or an address literal ("[192.0.2.1]", "[IPv6:...]").
//   An internationalised domain (U-labels, or A-labels "xn--") is converted
//   to its A-label form with libidn2 (IDNA2008 with UTS #46 non-transitional
//   mapping, NFC input); one that libidn2 refuses is not a domain.
// - the envelope keeps the address as the client wrote it (delivery uses
//   that); the normalised form is the identity used for comparisons.
//
// Errors: kInvalidArgument with a message naming the address and the reason
// ("\"a..b@x.org\" is not an email address: local part is neither a dot-atom
// nor a quoted string").
//
// Threading: pure functions (libidn2 is thread-safe).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace sg::mail {

inline constexpr size_t kMaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
inline constexpr size_t kMaxDomain = 255;    // RFC 5321 4.5.3.1.2

struct Mailbox {
  std::string local;       // normalised: quotes only where needed, ASCII lower-case
  std::string domain;      // normalised: A-labels, lower-case; or an address literal
  bool non_ascii = false;  // the address as written needs SMTPUTF8 (RFC 6531)

  // "local@domain": the normalised address.
  std::string Address() const { return local + "@" + domain; }
};

// Parses an RFC 5321 Mailbox as written in an SMTP path (no angle brackets,
// no source route, no trailing dot on the domain) and normalises it.
Result<Mailbox> ParseMailbox(std::string_view address);

// ParseMailbox(address)->Address(): the identity of an address.
Result<std::string> NormalizeAddress(std::string_view address);

// A domain name given on its own (config, admin commands): as in a mailbox,
// except that one trailing dot (a fully-qualified name) is dropped and an
// address literal is refused.
Result<std::string> NormalizeDomain(std::string_view domain);

// The normalised domain of an address: the part after the last '@',
// normalised like NormalizeDomain; when it is not a valid domain, the same
// text ASCII lower-cased (so it matches no configured domain); "" when there
// is no '@'.
std::string DomainOf(std::string_view address);

// True when |s| is well-formed UTF-8 (no overlong forms, no surrogates, no
// code point above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace sg::mail
