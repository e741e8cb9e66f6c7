// ClientRateLimiter: the admin REST API's limit on requests from one client
// address that do not authenticate (keyservice.admin_api.
// rate_limit_unauthenticated_per_second / _burst / _max_clients,
// docs/admin-api.md "Limits", docs/security.md "Admin REST API").
//
// Why: checking a token costs a store read and a hash, and every refused
// request is an audit record. Without a limit before that check, anyone who
// reaches the listener could make the keyservice do that work at line rate
// and guess tokens as fast. So every request first takes one from its
// client's bucket (TokenBucket, admin_rate_limit.h) BEFORE its token is
// looked at; a request that then authenticates gives it back (Refund), so
// only failures (no token, a malformed, unknown, wrong, revoked or expired
// one) drain the bucket. A client whose bucket is empty is answered 429
// without its token being checked, until the bucket refills; then valid
// tokens from it work again. Other clients have buckets of their own.
//
// The client is its address: IPv4 as is (also IPv4-mapped), IPv6 by its
// /64 (sg::ClientKey), because one subscriber holds a whole /64. There is
// no X-Forwarded-For: the listener is reached directly.
//
// Memory is bounded: at most `max_clients` buckets (an LruTable). A bucket
// that is full again is the same as none and is dropped first. When every
// bucket in the table is still draining (a flood from more addresses than
// the table holds), a new client shares one overflow bucket with every
// other client that found no room, so the flood cannot reset its own
// buckets by pushing them out; clients already in the table keep theirs.
//
// Reporting: a refused client is reported (log line, audit record) at most
// once per minute, with the number refused since its last report.
//
// Time comes from the injected Clock (tests use a fake one).
// Threading: thread-safe (one mutex; O(1) work under it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "admin/admin_rate_limit.h"
#include "common/clock.h"
#include "common/lru_table.h"

namespace sg::admin {

struct ClientLimit {
  RateLimit rate{1, 20};  // per client address; per_second 0: no limit
  size_t max_clients = 10000;
};

class ClientRateLimiter {
 public:
  static constexpr int64_t kReportEveryMs = 60'000;

  struct Admission {
    int64_t retry_after = 0;  // > 0: refused; seconds until one request is back
    std::string client;       // the client's key: "192.0.2.7", "2001:db8:1:2::/64"
    bool overflow = false;    // counted in the shared overflow bucket
    bool report = false;      // refused, and this one is to be logged and audited
    uint64_t unreported = 0;  // with `report`: refused since the last report, this one too
    bool taken = false;       // a request was taken (Refund gives it back)
  };

  ClientRateLimiter(ClientLimit limit, const Clock& clock) : limit_(limit), clock_(clock) {}

  // Before the request's token is checked. `remote_addr` as the socket
  // gives it ("192.0.2.7", "::ffff:192.0.2.7", "2001:db8::1").
  Admission Take(const std::string& remote_addr);
  // The request authenticated (or failed for the server's own reasons, not
  // the client's): it costs its client nothing.
  void Refund(const Admission& admission);
  // Buckets held, the overflow bucket not counted (tests: the bound).
  size_t Clients();

 private:
  struct Entry {
    TokenBucket bucket;
    int64_t reported_ms = -1;  // < 0: never reported
    uint64_t unreported = 0;
  };
  // The entry for `client`, or the overflow entry when the table is full
  // of draining buckets (sets `overflow`). Under mu_.
  Entry& EntryFor(const std::string& client, int64_t now, bool& overflow);
  void Refuse(Entry& e, int64_t now, Admission& a) const;

  ClientLimit limit_;
  const Clock& clock_;
  std::mutex mu_;
  LruTable<Entry> clients_;
  Entry overflow_;
};

}  // namespace sg::admin
