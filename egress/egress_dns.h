// DNS for egress: MX records and host addresses, asynchronously on the
// egress loop.
//
// CaresResolver is the shared c-ares resolver (common/dns/dns_resolver.h)
// behind the egress Resolver interface (tests use fakes). The servers are
// configurable (egress.dns.servers) so tests can point it at a local DNS
// server on loopback.
//
// Errors: kNotFound when the name does not exist (NXDOMAIN: the domain is
// bad, a permanent failure); kUnavailable / kTimeout when DNS could not
// answer (transient). An existing name without MX records yields an empty
// list (the caller falls back to the domain's own A/AAAA, RFC 5321 5.1).
// Authenticated look-ups (DANE) believe the AD bit only with
// egress.dns.trust_ad.
//
// Threading: loop thread only; callbacks run on the loop thread.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/dns/dns_resolver.h"
#include "common/result.h"
#include "egress/egress_config.h"

namespace sg::egress {

using MxRecord = dns::MxRecord;

class Resolver {
 public:
  using MxCallback = std::function<void(Result<std::vector<MxRecord>>)>;
  using AddrCallback = std::function<void(Result<std::vector<sockaddr_storage>>)>;
  using TxtCallback = std::function<void(Result<std::vector<std::string>>)>;
  virtual ~Resolver() = default;
  // MX records sorted by preference (lowest first).
  virtual void ResolveMx(const std::string& domain, MxCallback done) = 0;
  // IPv4 and IPv6 addresses of `host` (or the literal itself) with `port` set.
  virtual void ResolveAddress(const std::string& host, uint16_t port, AddrCallback done) = 0;
  // TXT records of `name` (MTA-STS). A resolver without TXT support (a test
  // fake) answers kUnavailable, which MTA-STS treats as "no record".
  virtual void ResolveTxt(const std::string& name, TxtCallback done) {
    done(MakeError(ErrorCode::kUnavailable, "TXT look-up of " + name + " not supported"));
  }
  // Records of type `qtype` with whether they were DNSSEC-validated (DANE;
  // dns::CaresResolver::ResolveAuthenticated has the errors). A resolver
  // without it (a test fake) answers kUnavailable, which DANE treats as a
  // failed (bogus) look-up.
  using AuthenticatedCallback = std::function<void(Result<dns::AuthenticatedAnswer>)>;
  virtual void ResolveAuthenticated(const std::string& name, uint16_t qtype,
                                    AuthenticatedCallback done) {
    done(MakeError(ErrorCode::kUnavailable, "authenticated look-up of " + name + " type " +
                                                std::to_string(qtype) + " not supported"));
  }
};

class CaresResolver final : public Resolver {
 public:
  static Result<std::unique_ptr<CaresResolver>> Create(uv_loop_t* loop, const DnsConfig& config);
  ~CaresResolver() override;

  void ResolveMx(const std::string& domain, MxCallback done) override;
  void ResolveAddress(const std::string& host, uint16_t port, AddrCallback done) override;
  void ResolveTxt(const std::string& name, TxtCallback done) override;
  void ResolveAuthenticated(const std::string& name, uint16_t qtype,
                            AuthenticatedCallback done) override;

  // Cancels outstanding queries (their callbacks run with kCancelled) and
  // closes the libuv handles. Call before the loop ends.
  void Shutdown();

 private:
  explicit CaresResolver(std::unique_ptr<dns::CaresResolver> resolver);
  std::unique_ptr<dns::CaresResolver> resolver_;
};

}  // namespace sg::egress
