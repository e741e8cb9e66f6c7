// One-time links (docs/portal.md "Links"): a random 256-bit token in the
// URL, stored only as its SHA-256 (a copy of the store cannot be turned
// into working links), expiring, and consumed by the first successful use.
// Opening a link only looks at it (mail scanners fetch links too); the form
// it shows consumes it when the reader completes it.
//
//   /l/<token>  a message: registration on the first visit, else login;
//               optionally with a registration code that the sender passes
//               on out of band (8 digits, stored hashed)
//   /r/<token>  a password reset
//
// Threading: thread-safe (the store is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/clock.h"
#include "portal/portal_store.h"

namespace sg::portal {

struct IssuedLink {
  std::string token;
  std::string url;
  int64_t expires_ms = 0;
  std::string code;  // the registration code, when one was asked for
  std::string hash;  // SHA-256 of the token: its key in the store (Revoke)
};

class Links {
 public:
  Links(PortalStore& store, const Clock& clock, std::string public_url)
      : store_(store), clock_(clock), public_url_(std::move(public_url)) {}

  Result<IssuedLink> IssueMessageLink(const std::string& recipient, const std::string& message_id,
                                      const std::string& domain, int64_t ttl_ms, bool with_code);
  // The same link, not stored: its record goes into the store with the
  // message (PortalStore::PutMessages, one write for both).
  IssuedLink PrepareMessageLink(const std::string& recipient, const std::string& message_id,
                                const std::string& domain, int64_t ttl_ms, bool with_code,
                                pb::LinkToken* record) const;
  Result<IssuedLink> IssueResetLink(const std::string& address, const std::string& domain,
                                    int64_t ttl_ms);
  // The link's record when it can be used now (unused, not expired, of
  // `purpose`); nullopt for anything else, including malformed tokens.
  Result<std::optional<pb::LinkToken>> Peek(const std::string& token,
                                            pb::LinkToken::Purpose purpose);
  // True when this call used the link up (exactly one caller wins).
  Result<bool> Consume(const std::string& token);
  // Makes the link with this token hash unusable (as if used); a link that
  // is used, expired or gone already is fine.
  Status Revoke(const std::string& hash);
  // Whether `code` is the registration code of this link.
  static bool CodeMatches(const pb::LinkToken& link, const std::string& code);

  void set_public_url(std::string url) { public_url_ = std::move(url); }
  const std::string& public_url() const { return public_url_; }

 private:
  Result<IssuedLink> Issue(pb::LinkToken record, const std::string& path, int64_t ttl_ms);
  IssuedLink Prepare(pb::LinkToken& record, const std::string& path, int64_t ttl_ms) const;

  PortalStore& store_;
  const Clock& clock_;
  std::string public_url_;
};

}  // namespace sg::portal
