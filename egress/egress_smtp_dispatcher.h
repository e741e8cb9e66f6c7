// Hands SMTP jobs to sessions, per destination: connection reuse, a
// concurrency limit per destination, and host selection (a route's fixed
// hosts in order, or the domain's MX hosts by preference, falling back to
// the domain's A/AAAA when it has no MX; each host's addresses in turn).
//
// A destination is a route, plus the recipient domain for MX routes
// (Router::DestinationKey). Jobs for one destination queue until a session
// is free; at most route.max_connections sessions are open or opening.
// An idle session is kept for smtp.idle_timeout, and closed after
// smtp.max_messages_per_connection transactions.
//
// When no host of a destination can be used, the queued jobs of that
// destination fail with a 4xx outcome (retry later) - or 5xx when DNS
// says the domain does not exist or accepts no mail (null MX).
//
// Addresses the DestinationPolicy refuses (loopback, private, the gateway
// itself... not in the route's allowed_networks) are skipped. When every
// address of every host was refused, an MX destination fails for good
// (554 5.4.6 for a loop to the gateway itself, else 554 5.4.4: the domain's
// DNS points where mail must not go); a configured smtp route is retried
// (451 4.4.4: the administrator's DNS or configuration is wrong, mail waits).
//
// MTA-STS (egress_mta_sts.h), when set with SetMtaSts, for the MX routes
// it applies to (StsApplies): before the MX look-up the domain's policy is
// asked for; with a policy in enforce mode only MX hosts the policy lists
// are used (none left: 451 4.7.5, retried) and each session requires TLS
// with a certificate valid for the MX host name (egress.mta_sts.ca_file or
// the system store); a failure tries the next host, then defers. In
// testing mode delivery goes on as without a policy, but hosts outside the
// policy and certificates that do not verify are counted. Every MX session
// is counted for TLS-RPT (egress_tls_sessions_total).
//
// DANE (egress_dane.h), when set with SetDane, for the same MX routes: the
// MX RRset is asked for once more with the AD bit (only a validated one
// names hosts DANE may authenticate, RFC 7672 2.2.1); then, before each MX
// host's addresses are looked up, its TLSA records are. A failed
// (bogus) look-up skips the host (451 4.7.5 when none is left); usable
// records make the session require STARTTLS and a certificate the records
// match (a mismatch skips the host, never a transaction in clear); a secure
// RRset without usable records requires STARTTLS without authentication.
// For that host DANE takes the place of the MTA-STS policy (RFC 8461 2):
// its TLS requirements, and, in enforce mode, its MX list too - a host the
// policy does not list is still tried when usable validated TLSA records
// authenticate it, and skipped otherwise. The TLSA base domain (the MX
// host's CNAME-expanded name when records are found there) is the SNI name.
// Sessions under DANE are counted with policy_type "tlsa".
//
// Threading: loop thread only. Ownership: owns its sessions; the Resolver
// and metrics outlive it. Each job's `done` runs exactly once (with 421
// outcomes on Shutdown).
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "egress/egress_config.h"
#include "egress/egress_dane.h"
#include "egress/egress_destination.h"
#include "egress/egress_dns.h"
#include "egress/egress_metrics.h"
#include "egress/egress_mta_sts.h"
#include "egress/egress_smtp_session.h"

namespace sg::egress {

struct SmtpJobResult {
  TransactionResult result;
  std::string remote_host;  // the host that answered, "" when none did
};

struct SmtpJob {
  const RouteConfig* route = nullptr;
  std::string domain;   // recipient domain (kMx routes)
  SmtpTransaction txn;  // txn.message must stay valid until done runs
  std::function<void(SmtpJobResult)> done;
};

class SmtpDispatcher {
 public:
  // `policy` outlives the dispatcher.
  SmtpDispatcher(uv_loop_t* loop, const SmtpClientConfig& config, Resolver& resolver,
                 EgressMetrics& metrics, const DestinationPolicy& policy);
  ~SmtpDispatcher();
  SmtpDispatcher(const SmtpDispatcher&) = delete;
  SmtpDispatcher& operator=(const SmtpDispatcher&) = delete;

  void Submit(const std::string& destination_key, SmtpJob job);

  // QUITs idle sessions, closes all, fails queued jobs with 421 outcomes.
  void Shutdown();

  size_t OpenSessions() const;

  // MTA-STS for MX routes; `mta_sts` and `config` outlive the dispatcher.
  // Null (the default): no MTA-STS.
  void SetMtaSts(MtaSts* mta_sts, const MtaStsConfig* config) {
    mta_sts_ = mta_sts;
    sts_config_ = config;
  }
  // DANE for MX routes; `dane` outlives the dispatcher. Null (the default): no DANE.
  void SetDane(Dane* dane) { dane_ = dane; }

 private:
  struct Slot;
  struct Destination;

  void Pump(Destination& dest);
  void OpenSlot(Destination& dest);
  void RunJob(Slot& slot, SmtpJob job);
  void ReleaseSlot(Slot& slot);
  void CloseSlot(Slot& slot);
  void FailQueued(Destination& dest, int code, const std::string& text);
  // Drops the addresses the policy refuses from slot.addrs, noting why.
  void FilterAddresses(Slot& slot, const std::string& host);
  // Every host tried: fails the destination's queue unless another session serves it.
  void AllHostsFailed(Slot& slot);
  Result<std::shared_ptr<TlsClientContext>> ContextFor(const RouteConfig& route);
  // The MX look-up of an MX destination, after its MTA-STS policy (if any).
  void ResolveMxHosts(Slot& slot, const std::shared_ptr<std::function<void()>>& try_next);
  // Drops the MX hosts an MTA-STS policy in enforce mode does not list (counts them in
  // testing); with DANE possible (validated MX RRset) keeps them as Slot::dane_only.
  void ApplyStsMx(Slot& slot);
  // The TLS policy and context of a session to `slot`'s next host.
  Result<std::pair<TlsPolicy, std::shared_ptr<TlsClientContext>>> SessionTls(Slot& slot);
  // The same for a host under DANE (kDane or kUnusable).
  Result<std::pair<TlsPolicy, std::shared_ptr<TlsClientContext>>> DaneTls(DaneOutcome dane);
  // The addresses of host `hp`, then the next try.
  void ResolveHost(Slot& slot, const HostPort& hp,
                   const std::shared_ptr<std::function<void()>>& try_next);
  // The DANE look-up of host `hp` (skipped when bogus), then ResolveHost.
  void DaneForHost(Slot& slot, const HostPort& hp,
                   const std::shared_ptr<std::function<void()>>& try_next);
  // TLS-RPT counting of one opened (or failed) MX session.
  void CountTls(const Slot& slot, const SmtpSession& session);

  uv_loop_t* loop_;
  const SmtpClientConfig& config_;
  Resolver& resolver_;
  EgressMetrics& metrics_;
  const DestinationPolicy& policy_;
  std::map<std::string, std::unique_ptr<Destination>> destinations_;
  std::map<std::string, std::shared_ptr<TlsClientContext>> tls_contexts_;  // per RouteKey
  bool shut_down_ = false;
  MtaSts* mta_sts_ = nullptr;
  const MtaStsConfig* sts_config_ = nullptr;
  Dane* dane_ = nullptr;
};

// Whether MTA-STS applies to `route`: MX transport, and the route's own
// TLS settings do not take precedence (tls.mode none, or verify: true
// with the route's own trust, keep the route's settings).
bool StsApplies(const RouteConfig& route);

}  // namespace sg::egress
