#include "ingress/ingress_steps.h"

#include "common/mail/address.h"
#include "ingress/ingress_headers.h"

namespace sg::ingress {

std::optional<std::string> ConnectionLimiter::Acquire(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  if (max_total_ > 0 && total_ >= max_total_) return "too_many_connections";
  size_t& n = per_ip_[ip];
  if (max_per_ip_ > 0 && n >= max_per_ip_) {
    if (n == 0) per_ip_.erase(ip);
    return "too_many_from_ip";
  }
  ++n;
  ++total_;
  return std::nullopt;
}

void ConnectionLimiter::Release(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
  --total_;
}

size_t ConnectionLimiter::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

namespace {

class ConnectionLimitStep : public SessionStep {
 public:
  explicit ConnectionLimitStep(ConnectionLimiter* limiter) : limiter_(limiter) {}
  StepVerdict OnConnect(SessionState& s) override {
    if (auto refused = limiter_->Acquire(s.client_key)) {
      return StepVerdict::Reject(
          MakeReply(421, "4.7.0",
                    s.config->hostname + " Too many connections, try again later", true),
          *refused);
    }
    s.limit_acquired = true;
    return StepVerdict::Continue();
  }
  void OnClose(SessionState& s) override {
    if (s.limit_acquired) limiter_->Release(s.client_key);
    s.limit_acquired = false;
  }

 private:
  ConnectionLimiter* limiter_;
};

class TlsRequiredStep : public SessionStep {
 public:
  StepVerdict OnMail(const SessionState& s, const Path&, const MailParams&) override {
    if (!s.tls.active) {
      return StepVerdict::Reject(MakeReply(530, "5.7.0", "Must issue a STARTTLS command first"),
                                 "tls_required");
    }
    return StepVerdict::Continue();
  }
};

// Inbound: only recipients in hosted domains (never an open relay).
class MxRecipientStep : public SessionStep {
 public:
  explicit MxRecipientStep(std::shared_ptr<const HostedDomains> hosted)
      : hosted_(std::move(hosted)) {}
  StepVerdict OnRcpt(const SessionState&, const Path& rcpt, size_t) override {
    if (!hosted_->Contains(mail::DomainOf(rcpt.address))) {
      return StepVerdict::Reject(
          MakeReply(550, "5.7.1", "Relay access denied: recipient domain not hosted here"),
          "recipient_not_hosted");
    }
    return StepVerdict::Continue();
  }

 private:
  std::shared_ptr<const HostedDomains> hosted_;  // changes at run time
};

// Outbound: only authorised clients, and only senders of hosted domains.
class RelaySenderStep : public SessionStep {
 public:
  explicit RelaySenderStep(std::shared_ptr<const HostedDomains> hosted)
      : hosted_(std::move(hosted)) {}
  StepVerdict OnMail(const SessionState& s, const Path& from, const MailParams&) override {
    if (!s.Authorized()) {
      return StepVerdict::Reject(
          MakeReply(550, "5.7.1",
                    "Relaying denied: authenticate or connect from a trusted network"),
          "relay_denied");
    }
    // The null sender is how the internal server sends bounces; allowed.
    if (!from.null && !hosted_->Contains(mail::DomainOf(from.address))) {
      return StepVerdict::Reject(
          MakeReply(550, "5.7.1", "Sender address domain is not hosted here"),
          "sender_not_hosted");
    }
    return StepVerdict::Continue();
  }

 private:
  std::shared_ptr<const HostedDomains> hosted_;  // changes at run time
};

class SizeStep : public SessionStep {
 public:
  explicit SizeStep(uint64_t max) : max_(max) {}
  StepVerdict OnMail(const SessionState&, const Path&, const MailParams& p) override {
    if (p.size && *p.size > max_) return TooBig();
    return StepVerdict::Continue();
  }
  StepVerdict OnMessage(const SessionState&, const Path&, DataReader::Outcome o,
                        std::string_view) override {
    if (o == DataReader::Outcome::kTooBig) return TooBig();
    return StepVerdict::Continue();
  }

 private:
  static StepVerdict TooBig() {
    return StepVerdict::Reject(
        MakeReply(552, "5.3.4", "Message size exceeds fixed maximum message size"), "size");
  }
  uint64_t max_;
};

class RecipientCountStep : public SessionStep {
 public:
  explicit RecipientCountStep(size_t max) : max_(max) {}
  StepVerdict OnRcpt(const SessionState&, const Path&, size_t accepted) override {
    if (accepted >= max_) {
      return StepVerdict::Reject(MakeReply(452, "4.5.3", "Too many recipients"),
                                 "too_many_recipients");
    }
    return StepVerdict::Continue();
  }

 private:
  size_t max_;
};

// Bare CR/LF (the smuggling defence, RFC 5321 2.3.8) and over-long lines.
class ContentStep : public SessionStep {
 public:
  StepVerdict OnMessage(const SessionState& s, const Path&, DataReader::Outcome o,
                        std::string_view) override {
    if (o == DataReader::Outcome::kBareLineEnding) {
      return StepVerdict::Reject(
          MakeReply(550, "5.6.0", "Message contains a bare CR or LF (RFC 5321 2.3.8)"),
          "bare_line_ending");
    }
    if (o == DataReader::Outcome::kLineTooLong) {
      return StepVerdict::Reject(
          MakeReply(550, "5.6.0", "Message contains a line longer than " +
                                      std::to_string(s.config->max_line_length) + " octets"),
          "line_too_long");
    }
    return StepVerdict::Continue();
  }
};

// Mail loops (RFC 5321 6.3): more Received: fields than the limit is refused
// at the end of the data, so the sending MTA returns it to its sender; we
// never accept it only to bounce it (docs/security.md).
class HopLimitStep : public SessionStep {
 public:
  explicit HopLimitStep(size_t max) : max_(max) {}
  StepVerdict OnMessage(const SessionState&, const Path&, DataReader::Outcome,
                        std::string_view content) override {
    size_t hops = CountHeaderFields(content, "Received", max_ + 1);
    if (hops > max_) {
      return StepVerdict::Reject(
          MakeReply(554, "5.4.6", "Too many hops: more than " + std::to_string(max_) +
                                      " Received: header fields (mail loop?)"),
          "too_many_hops");
    }
    return StepVerdict::Continue();
  }

 private:
  size_t max_;
};

}  // namespace

std::vector<std::shared_ptr<SessionStep>> BuildSteps(const SessionConfig& session,
                                                     const PolicyConfig& policy) {
  std::vector<std::shared_ptr<SessionStep>> steps;
  if (policy.limiter != nullptr) {
    steps.push_back(std::make_shared<ConnectionLimitStep>(policy.limiter));
  }
  if (session.require_tls) steps.push_back(std::make_shared<TlsRequiredStep>());
  auto hosted = policy.runtime_domains
                    ? policy.runtime_domains
                    : std::make_shared<const HostedDomains>(policy.hosted_domains);
  if (session.role == Role::kMx) {
    steps.push_back(std::make_shared<MxRecipientStep>(hosted));
  } else {
    steps.push_back(std::make_shared<RelaySenderStep>(hosted));
    AllowedSenders fallback;
    if (policy.relay_default_senders) {
      fallback = *policy.relay_default_senders;
    } else {
      fallback.where = "hosted_domains";
      fallback.all_hosted = true;  // every hosted domain, also those added at run time
      fallback.runtime = hosted;
    }
    steps.push_back(MakeSenderBindingStep(policy.sender_bindings, std::move(fallback), hosted));
  }
  steps.push_back(std::make_shared<SizeStep>(session.max_message_size));
  steps.push_back(std::make_shared<RecipientCountStep>(session.max_recipients));
  steps.push_back(std::make_shared<ContentStep>());
  steps.push_back(std::make_shared<HopLimitStep>(session.max_received_headers));
  return steps;
}

}  // namespace sg::ingress
