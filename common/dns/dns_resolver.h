// DNS over c-ares with its sockets watched by libuv (uv_poll) and its
// timeouts driven by a uv_timer: no threads. Shared by egress (MX records
// and host addresses for routing) and the keyservice (TXT records of domain
// validation, through a private loop: keyservice/dns_txt.h).
//
// The servers are configurable (egress.dns.servers, keyservice.dns.servers)
// so tests can point the resolver at a local DNS server on loopback.
//
// Errors: kNotFound when the name does not exist (NXDOMAIN: a permanent
// answer); kUnavailable / kTimeout when DNS could not answer (transient);
// kCancelled after Shutdown. An existing name without records of the asked
// type yields an empty list (NODATA).
//
// Authenticated lookups (ResolveAuthenticated: SMIMEA, DANE TLSA) ask with the
// AD and DO bits and report whether the answer was DNSSEC-validated. c-ares
// validates nothing itself: the AD bit of a validating resolver is believed
// only when that resolver is configured explicitly (servers) and marked
// trusted (trust_ad), e.g. Debian's unbound on 127.0.0.1. The path to it must
// be trusted too (loopback, or a resolver in the same pod): an AD bit from
// resolv.conf's servers across a network proves nothing, so trust_ad without
// servers is a configuration error.
//
// Threading: loop thread only; callbacks run on the loop thread.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace sg::dns {

struct Server {
  std::string host;  // IP literal (no brackets)
  uint16_t port = 53;
};

struct ResolverOptions {
  std::vector<Server> servers;  // empty: /etc/resolv.conf
  std::chrono::milliseconds timeout{5'000};
  std::string config_key = "dns.servers";  // names the key in errors
  // The servers are validating resolvers whose AD bit is believed (see the
  // top). Needs servers.
  bool trust_ad = false;
};

// The answer of an authenticated lookup.
struct AuthenticatedAnswer {
  // The answer was DNSSEC-validated: AD set by a trusted server (trust_ad).
  bool authenticated = false;
  bool name_exists = true;  // false: NXDOMAIN
  // Records: their smallest TTL; none: the negative TTL from the SOA (0 if none).
  uint32_t ttl = 0;
  std::vector<std::string> rdata;  // wire RDATA of each record of the asked type
  // The asked name with the answer's CNAME chain followed (lower case, no
  // trailing dot; the name itself without a CNAME). DANE's TLSA base domain
  // (RFC 7672 2.2.3); validated along with the records when authenticated.
  std::string canonical_name;
};

struct MxRecord {
  std::string host;
  int preference = 0;
};

class CaresResolver {
 public:
  using MxCallback = std::function<void(Result<std::vector<MxRecord>>)>;
  using AddrCallback = std::function<void(Result<std::vector<sockaddr_storage>>)>;
  // Each TXT record's character-strings joined (RFC 7208 3.3 style).
  using TxtCallback = std::function<void(Result<std::vector<std::string>>)>;
  using AuthenticatedCallback = std::function<void(Result<AuthenticatedAnswer>)>;

  static Result<std::unique_ptr<CaresResolver>> Create(uv_loop_t* loop,
                                                       const ResolverOptions& options);
  ~CaresResolver();
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;

  // MX records sorted by preference (lowest first).
  void ResolveMx(const std::string& domain, MxCallback done);
  // IPv4 and IPv6 addresses of `host` (or the literal itself) with `port` set.
  void ResolveAddress(const std::string& host, uint16_t port, AddrCallback done);
  // TXT records of `name`.
  void ResolveTxt(const std::string& name, TxtCallback done);
  // Records of type `qtype` (dns_answer.h: kTypeTlsa, kTypeSmimea...) of
  // `name`, with whether they were validated (see the top). NXDOMAIN and
  // NODATA are answers (name_exists, empty rdata). Errors: kUnavailable for
  // SERVFAIL/REFUSED (a validating resolver's answer to a bogus record set)
  // or an unreachable server, kTimeout, kCorruption for a malformed answer,
  // kInvalidArgument for a bad name, kCancelled after Shutdown.
  void ResolveAuthenticated(const std::string& name, uint16_t qtype, AuthenticatedCallback done);

  // Cancels outstanding queries (their callbacks run with kCancelled) and
  // closes the libuv handles. Call before the loop ends.
  void Shutdown();

 private:
  struct Impl;
  explicit CaresResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sg::dns
