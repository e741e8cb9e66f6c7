#include "ingress/ingress_sender_binding.h"

#include "common/ascii.h"
#include "common/mail/address.h"
#include "ingress/ingress_from_header.h"
#include "ingress/ingress_steps.h"

namespace sg::ingress {

bool AllowedSenders::Allows(const std::string& address) const {
  auto normalized = mail::NormalizeAddress(address);
  if (addresses.count(normalized.ok() ? *normalized : AsciiLower(address)) != 0) return true;
  const std::string domain = mail::DomainOf(address);
  if (domains.count(domain) != 0) return true;
  if (!runtime || (!all_hosted && tenants.empty())) return false;
  const std::string tenant = runtime->TenantOf(domain);
  return !tenant.empty() && (all_hosted || tenants.count(tenant) != 0);
}

Status AllowedSenders::CheckWithin(const std::set<std::string>& hosted) const {
  for (const std::string& d : domains) {
    if (hosted.count(d) == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "config " + where + ": " + d + " is not a hosted domain (hosted_domains)");
    }
  }
  for (const std::string& a : addresses) {
    if (hosted.count(mail::DomainOf(a)) == 0) {
      return MakeError(ErrorCode::kInvalidArgument, "config " + where + ": " + a +
                                                        " is not in a hosted domain "
                                                        "(hosted_domains)");
    }
  }
  return OkStatus();
}

Result<AllowedSenders> ParseSenders(const std::vector<std::string>& entries,
                                    const std::string& where) {
  AllowedSenders out;
  out.where = where;
  // Entries are normalised like every address (common/mail/address.h): an
  // IDN domain in U-labels and its xn-- form are the same entry.
  for (const std::string& raw : entries) {
    if (raw.rfind("tenant:", 0) == 0) {
      const std::string id = AsciiLower(raw.substr(7));
      bool ok = !id.empty() && id.size() <= 63 && id[0] != '-';
      for (char c : id) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
      if (!ok) {
        std::string message = "config ";
        message.append(where).append(": \"").append(raw).append(
            "\": a tenant id is 1 to 63 letters, digits and '-' (docs/tenants.md)");
        return MakeError(ErrorCode::kInvalidArgument, message);
      }
      out.tenants.insert(id);
      continue;
    }
    const size_t at = raw.rfind('@');
    const bool is_domain = at == std::string::npos || at == 0;
    auto normalized = is_domain ? mail::NormalizeDomain(at == 0 ? raw.substr(1) : raw)
                                : mail::NormalizeAddress(raw);
    if (!normalized.ok()) {
      return MakeError(ErrorCode::kInvalidArgument, "config " + where + ": \"" + raw +
                                                        "\" is neither a domain nor an "
                                                        "address");
    }
    (is_domain ? out.domains : out.addresses).insert(std::move(*normalized));
  }
  return out;
}

AllowedSenders SenderBindings::Registry(const std::string& tenant, std::string where) const {
  AllowedSenders out;
  out.where = std::move(where);
  out.tenants.insert(tenant);
  out.runtime = runtime;
  return out;
}

std::optional<AllowedSenders> SenderBindings::For(const SessionState& s,
                                                  const AllowedSenders& listener_default) const {
  if (!s.auth_identity.empty()) {
    if (runtime) {
      if (auto t = runtime->TenantOfUser(s.auth_identity)) {
        return Registry(*t, "the registry binding of AUTH user " + s.auth_identity);
      }
    }
    for (const auto& [user, allowed] : auth_users) {
      if (user == s.auth_identity) return allowed;
    }
    // An identity from another authenticator that is an address: its domain.
    const std::string domain = mail::DomainOf(s.auth_identity);
    if (domain.empty()) return std::nullopt;
    AllowedSenders own;
    own.where = "the AUTH identity " + s.auth_identity;
    own.domains.insert(domain);
    return own;
  }
  if (s.tls.peer_verified) {
    if (runtime) {
      if (auto t = runtime->TenantOfCertificate(s.tls.peer_subject)) {
        return Registry(*t, "the registry binding of certificate " + s.tls.peer_subject);
      }
    }
    for (const auto& [subject, allowed] : certificates) {
      if (subject == s.tls.peer_subject) return allowed;
    }
  }
  if (runtime) {
    if (auto t = runtime->TenantOfNetwork(s.client_ip)) {
      return Registry(*t, "the registry network binding of " + s.client_ip);
    }
  }
  for (const auto& [net, allowed] : networks) {
    if (net.Contains(s.client_ip)) return allowed;
  }
  return listener_default;
}

void SenderBindings::AttachRuntime(const std::shared_ptr<const HostedDomains>& hosted) {
  runtime = hosted;
  for (auto& b : auth_users) b.second.runtime = hosted;
  for (auto& b : certificates) b.second.runtime = hosted;
  for (auto& b : networks) b.second.runtime = hosted;
}

Status SenderBindings::CheckWithin(const std::set<std::string>& hosted) const {
  for (const auto& b : auth_users) SG_RETURN_IF_ERROR(b.second.CheckWithin(hosted));
  for (const auto& b : certificates) SG_RETURN_IF_ERROR(b.second.CheckWithin(hosted));
  for (const auto& b : networks) SG_RETURN_IF_ERROR(b.second.CheckWithin(hosted));
  return OkStatus();
}

namespace {

class SenderBindingStep : public SessionStep {
 public:
  SenderBindingStep(SenderBindings bindings, AllowedSenders listener_default,
                    std::shared_ptr<const HostedDomains> hosted)
      : bindings_(std::move(bindings)),
        default_(std::move(listener_default)),
        hosted_(std::move(hosted)) {}

  StepVerdict OnMail(const SessionState& s, const Path& from, const MailParams&) override {
    if (from.null) return StepVerdict::Continue();
    auto allowed = bindings_.For(s, default_);
    if (!allowed || !allowed->Allows(from.address)) {
      return StepVerdict::Reject(
          MakeReply(553, "5.7.1",
                    "Sender address <" + from.address + "> is not allowed for " + Identity(s)),
          "sender_not_bound");
    }
    return StepVerdict::Continue();
  }

  StepVerdict OnMessage(const SessionState& s, const Path& from, DataReader::Outcome outcome,
                        std::string_view content) override {
    // Broken content is refused by its own step (550 5.6.0 / 552), not here.
    if (outcome != DataReader::Outcome::kOk) return StepVerdict::Continue();
    auto mailboxes = FromMailboxes(content);
    if (!mailboxes.ok()) {
      return StepVerdict::Reject(
          MakeReply(553, "5.7.1", "The From header field has no valid address"), "from_not_bound");
    }
    auto allowed = bindings_.For(s, default_);
    for (const std::string& m : *mailboxes) {
      if (allowed && allowed->Allows(m)) continue;
      // A bounce of the internal server names its own host, never signed.
      if (from.null && !hosted_->Contains(mail::DomainOf(m))) continue;
      return StepVerdict::Reject(
          MakeReply(553, "5.7.1",
                    "From header address <" + m + "> is not allowed for " + Identity(s)),
          "from_not_bound");
    }
    return StepVerdict::Continue();
  }

 private:
  static std::string Identity(const SessionState& s) {
    if (!s.auth_identity.empty()) return "this AUTH user";
    if (s.tls.peer_verified) return "this client certificate";
    return "this client network";
  }

  SenderBindings bindings_;
  AllowedSenders default_;
  std::shared_ptr<const HostedDomains> hosted_;  // changes at run time
};

}  // namespace

std::shared_ptr<SessionStep> MakeSenderBindingStep(SenderBindings bindings,
                                                   AllowedSenders listener_default,
                                                   std::shared_ptr<const HostedDomains> hosted) {
  return std::make_shared<SenderBindingStep>(std::move(bindings), std::move(listener_default),
                                             std::move(hosted));
}

}  // namespace sg::ingress
