// The policy steps of an SMTP session, in the shape of a filter chain
// (CONVENTIONS.md "SMTP as a chain of small steps"). Each step looks at one
// concern and answers continue (no reply) or reject (a reply and a metric
// reason). The session asks every step in order at each stage; the first
// reject wins.
//
// Steps are built once per listener (BuildSteps) and shared by all sessions
// of that listener, on all loops: they hold only immutable configuration
// and thread-safe shared objects (the ConnectionLimiter).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/smtp_reply.h"
#include "common/cidr.h"
#include "ingress/ingress_hosted_domains.h"
#include "ingress/ingress_sender_binding.h"
#include "ingress/smtp_data_reader.h"
#include "ingress/smtp_parser.h"
#include "ingress/smtp_session_state.h"

namespace sg::ingress {

struct StepVerdict {
  std::optional<Reply> reject;  // nullopt: continue
  std::string reason;           // metric label when rejecting

  static StepVerdict Continue() { return {}; }
  static StepVerdict Reject(Reply reply, std::string why) {
    return StepVerdict{std::move(reply), std::move(why)};
  }
};

class SessionStep {
 public:
  virtual ~SessionStep() = default;
  // A connection arrived, before the greeting. A reject closes it.
  virtual StepVerdict OnConnect(SessionState&) { return StepVerdict::Continue(); }
  // MAIL FROM, after syntax and sequence checks.
  virtual StepVerdict OnMail(const SessionState&, const Path&, const MailParams&) {
    return StepVerdict::Continue();
  }
  // RCPT TO; `accepted` is the number of recipients already accepted.
  virtual StepVerdict OnRcpt(const SessionState&, const Path&, size_t) {
    return StepVerdict::Continue();
  }
  // The end of DATA / BDAT LAST, before enqueueing: the envelope sender,
  // what the content checks found, and the content as the client sent it
  // (without our Received: header).
  virtual StepVerdict OnMessage(const SessionState&, const Path& /*from*/, DataReader::Outcome,
                                std::string_view /*content*/) {
    return StepVerdict::Continue();
  }
  // The connection is gone (always called, also after a reject).
  virtual void OnClose(SessionState&) {}
};

// Connections in total and per client (SessionState::client_key: an IPv4
// address or an IPv6 /64), across all loops of a server.
class ConnectionLimiter {
 public:
  ConnectionLimiter(size_t max_total, size_t max_per_ip)
      : max_total_(max_total), max_per_ip_(max_per_ip) {}
  // nullopt when a slot was taken; otherwise the metric reason of the refusal.
  std::optional<std::string> Acquire(const std::string& ip);
  void Release(const std::string& ip);
  size_t total() const;

 private:
  const size_t max_total_, max_per_ip_;
  mutable std::mutex mu_;
  size_t total_ = 0;
  std::map<std::string, size_t> per_ip_;
};

// Listener policy inputs for BuildSteps.
struct PolicyConfig {
  std::vector<Cidr> trusted_networks;
  std::set<std::string> hosted_domains;  // lower case
  // The hosted domains and their tenants, changing at run time (shared with
  // the server): MX recipients, relay senders, tenant bindings; null means a
  // fixed set of hosted_domains.
  std::shared_ptr<const HostedDomains> runtime_domains;
  ConnectionLimiter* limiter = nullptr;  // not owned; may be null (no limits)
  // Relay listeners: who may send as whom (ingress_sender_binding.h).
  SenderBindings sender_bindings;
  // Relay listeners: what an unbound trusted-network or certificate client
  // may send as; nullopt means every hosted domain.
  std::optional<AllowedSenders> relay_default_senders;
};

// The chain for one listener, in order: connection limits, TLS requirement,
// relay/direction policy (relay: sender binding), size, recipient count,
// content checks, hop limit.
std::vector<std::shared_ptr<SessionStep>> BuildSteps(const SessionConfig& session,
                                                     const PolicyConfig& policy);

}  // namespace sg::ingress
