// Sender binding on relay listeners (issue 13 point 6, DESIGN.md invariant
// 10): a relay client may send only as the addresses and domains bound to
// the identity it relays with, so the mail server of one hosted domain can
// never get mail signed as another's users.
//
// The identity that decides, most specific first:
//   1. the SMTP AUTH user (ingress.auth.users[].senders; a user named by an
//      address is bound to that address's domain by default);
//   2. the verified client certificate (ingress.sender_bindings[] with
//      `certificate:`, matched on the subject as OpenSSL prints it);
//   3. the client's network (ingress.sender_bindings[] with `network:`, the
//      first entry that contains the client);
//   4. the listener's default (ingress.listeners[].senders, by default every
//      hosted domain) for trusted-network and certificate clients without a
//      binding of their own.
// Relay clients bound to a tenant in the keyservice registry (`smimegatectl
// tenant bind user|certificate|network`, HostedDomains::TenantOf*) come
// right before the config file's bindings of the same kind, so a binding
// changed at run time wins over the file: AUTH user (registry, config),
// certificate (registry, config), network (registry, config), then the
// listener's default. A registry binding decides what an admitted client
// may send as; it never admits a client.
// An entry "tenant:ID" binds to every domain of that tenant (docs/tenants.md),
// as the keyservice's registry says at the moment of the check: a domain
// added to the tenant or moved away takes effect without a restart.
// Both the envelope sender (MAIL FROM) and every mailbox of the From header
// fields must be allowed; otherwise 553 5.7.1. The null sender (the internal
// server's bounces) passes MAIL; its From mailboxes may then also be outside
// every hosted domain (MAILER-DAEMON@host), where nothing is ever signed.
//
// Threading: immutable after construction; shared by all loops.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/cidr.h"
#include "ingress/ingress_hosted_domains.h"
#include "ingress/smtp_session_state.h"

namespace sg::ingress {

class SessionStep;

// What one identity may send as.
struct AllowedSenders {
  std::string where;                // config path, for error messages
  std::set<std::string> domains;    // lower case, exact (no subdomains)
  std::set<std::string> addresses;  // lower case
  std::set<std::string> tenants;    // tenant ids: every domain the tenant owns now
  bool all_hosted = false;          // every hosted domain now (the listener default)
  // The hosted domains and their tenants at run time; tenants and
  // all_hosted allow nothing without it (set by the server).
  std::shared_ptr<const HostedDomains> runtime;

  bool Allows(const std::string& address) const;
  // kInvalidArgument naming `where` and the entry outside `hosted`.
  Status CheckWithin(const std::set<std::string>& hosted) const;
};

// Entries "example.com", "@example.com" (a domain), "alice@example.com"
// (one address) or "tenant:acme" (every domain of a tenant); kInvalidArgument
// names the entry that is none of them.
Result<AllowedSenders> ParseSenders(const std::vector<std::string>& entries,
                                    const std::string& where);

struct SenderBindings {
  std::vector<std::pair<std::string, AllowedSenders>> auth_users;    // user name
  std::vector<std::pair<std::string, AllowedSenders>> certificates;  // peer subject
  std::vector<std::pair<Cidr, AllowedSenders>> networks;
  // The hosted domains and the registry's bindings at run time (AttachRuntime).
  std::shared_ptr<const HostedDomains> runtime;

  // What the session's identity may send as; nullopt when it is bound to
  // nothing (an AUTH user without `senders` whose name is not an address).
  std::optional<AllowedSenders> For(const SessionState& s,
                                    const AllowedSenders& listener_default) const;
  Status CheckWithin(const std::set<std::string>& hosted) const;
  // Sets `runtime` here and of every binding.
  void AttachRuntime(const std::shared_ptr<const HostedDomains>& hosted);

 private:
  AllowedSenders Registry(const std::string& tenant, std::string where) const;
};

// The step for relay listeners: MAIL FROM at MAIL, From at the end of data.
std::shared_ptr<SessionStep> MakeSenderBindingStep(SenderBindings bindings,
                                                   AllowedSenders listener_default,
                                                   std::shared_ptr<const HostedDomains> hosted);

}  // namespace sg::ingress
