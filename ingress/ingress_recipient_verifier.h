// Recipient verification on MX listeners (issue 13 point 4): a recipient of
// a hosted domain is accepted (250) only when one of the domain's sources
// knows it, refused at RCPT time (550 5.1.1) when every source says it does
// not exist, and deferred (451 4.4.3) when no source knows it and one could
// not answer. So the gateway never accepts mail it would later have to
// bounce to a forged sender (backscatter).
//
// Sources, asked in the order configured per hosted domain
// (ingress.recipient_verification.domains):
//   registry  the keyservice's user registry: participating users
//             (UserRegistry below, wired in cmd/smimegate);
//   list      a file of addresses ("@domain" accepts the whole domain),
//             re-read on SIGHUP (ingress_recipient_sources.h);
//   callout   RCPT TO at the internal mail server over SMTP, with a
//             timeout (ingress_recipient_callout.h);
//   ldap      a search in an LDAP directory, StartTLS or ldaps, with a
//             timeout (ingress_recipient_ldap.h).
// Answers of cacheable sources (the callout, ldap) are cached: known for
// cache.positive, unknown for cache.negative; "unavailable" never is.
// A domain without an entry (and without a "*" entry) is not verified.
//
// Not an oracle beyond SMTP itself: every unknown recipient gets the same
// reply whichever source decided, VRFY stays 252, and the session limits
// unknown recipients per client (ingress.recipient_verification.
// failure_limit; see docs/security.md).
//
// Threading: Cached() is cheap and may run on an event loop; Verify()
// blocks (network, keyservice) and runs on the recipient pool. Both are
// thread-safe. Sources must be thread-safe.
// Ownership: the server owns the verifier; the verifier owns its sources.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace sg::ingress {

class IngressMetrics;

enum class RecipientStatus { kKnown, kUnknown, kUnavailable };
const char* RecipientStatusName(RecipientStatus s);

class RecipientSource {
 public:
  virtual ~RecipientSource() = default;
  // "registry", "list", "callout", "ldap" (logs and metrics).
  virtual std::string Name() const = 0;
  // Blocking. kUnavailable when the source cannot answer now.
  virtual RecipientStatus Lookup(const std::string& address) = 0;
  // Whether answers may be cached (expensive, remote sources).
  virtual bool Cacheable() const { return false; }
  // SIGHUP: re-read what can change; on error the old data stays.
  virtual Status Reload() { return OkStatus(); }
};

// The narrow view of the keyservice that recipient verification needs
// (implemented over keyservice::KeyService in cmd/smimegate).
class UserRegistry {
 public:
  virtual ~UserRegistry() = default;
  // Whether `address` is a participating user; kUnavailable when the
  // registry cannot be reached. Blocking; thread-safe.
  virtual Result<bool> Participates(const std::string& address) = 0;
};

struct RecipientCacheConfig {
  std::chrono::milliseconds positive{std::chrono::hours(1)};
  std::chrono::milliseconds negative{std::chrono::minutes(10)};
  size_t max_entries = 100000;
};

class RecipientVerifier {
 public:
  RecipientVerifier(RecipientCacheConfig cache, IngressMetrics* metrics);

  // The sources of `domain` (lower case; "*" for every hosted domain without
  // its own entry), in order.
  void SetSources(const std::string& domain, std::vector<std::shared_ptr<RecipientSource>> s);

  // Whether recipients in `domain` are verified at all.
  bool Verifies(const std::string& domain) const;
  // The cached answer for `address`, if there is a fresh one.
  std::optional<RecipientStatus> Cached(const std::string& address, int64_t now_ms);
  // Asks the sources (blocking) and caches what may be cached.
  RecipientStatus Verify(const std::string& address, int64_t now_ms);
  // Reloads every source; the first error is returned (others are logged).
  Status Reload();

 private:
  struct CacheEntry {
    RecipientStatus status;
    int64_t expires_ms;
  };
  const std::vector<std::shared_ptr<RecipientSource>>* SourcesFor(const std::string& domain) const;
  void Remember(const std::string& key, RecipientStatus status, int64_t now_ms);

  RecipientCacheConfig cache_config_;
  IngressMetrics* metrics_;
  std::map<std::string, std::vector<std::shared_ptr<RecipientSource>>> domains_;
  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;
};

}  // namespace sg::ingress
