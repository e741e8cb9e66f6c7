// PortalAdmin's account methods (portal_admin.h): what the portal keeps
// about a recipient's account, ending its sessions and lifting its login
// lock. Every change is audited in the portal's log like the other admin
// calls ("admin_logout", "admin_unlock"); a show is a read and is not.
//
// Nothing secret leaves here: no password hash, no TOTP secret, no
// certificate bytes (only whether there is one).
#include <set>

#include "portal/portal_address.h"
#include "portal/portal_admin.h"

namespace sg::portal {
namespace {

constexpr size_t kPage = 1000;

// The recipient's stored messages, only those sent from `domains` when it
// is not empty.
Result<uint64_t> CountScoped(PortalStore& store, const std::string& recipient,
                             const std::set<std::string>& domains) {
  if (domains.empty()) {
    SG_ASSIGN_OR_RETURN(size_t n, store.CountMessages(recipient));
    return static_cast<uint64_t>(n);
  }
  uint64_t n = 0;
  std::string cursor;
  while (true) {
    SG_ASSIGN_OR_RETURN(auto page, store.ListMessages(recipient, cursor, kPage));
    for (const auto& m : page) n += domains.contains(m.sender_domain()) ? 1 : 0;
    if (page.size() < kPage) return n;
    cursor = page.back().id();
  }
}

grpc::Status BadRecipient(const std::string& raw) {
  return {grpc::StatusCode::INVALID_ARGUMENT, "recipient \"" + raw + "\" is not an address"};
}

}  // namespace

grpc::Status PortalAdminService::Describe(
    const std::string& recipient,
    const google::protobuf::RepeatedPtrField<std::string>& sender_domains, pb::AccountInfo* out) {
  PortalStore& store = vault_.store();
  const std::set<std::string> domains(sender_domains.begin(), sender_domains.end());
  auto count = CountScoped(store, recipient, domains);
  if (!count.ok()) return AdminStatus(count.error());
  auto account = store.GetAccount(recipient);
  if (!account.ok()) return AdminStatus(account.error());
  // A scoped caller sees an account only through its own messages: the
  // same answer for "no account" and "not yours" (no existence leak).
  const bool visible = domains.empty() ? (account->has_value() || *count > 0) : *count > 0;
  if (!visible) {
    return {grpc::StatusCode::NOT_FOUND, "no portal account or message for " + recipient};
  }
  out->Clear();
  out->set_address(recipient);
  out->set_messages(*count);
  if (const auto& a = *account) {
    out->set_exists(true);
    out->set_created_ms(a->created_ms());
    out->set_password_changed_ms(a->password_changed_ms());
    out->set_last_login_ms(a->last_login_ms());
    out->set_totp(!a->sealed_totp_secret().empty());
    out->set_certificate(!a->certificate_der().empty());
    out->set_language(a->language());
    out->set_domain(a->domain());
  }
  const LoginLimiter::AddressStatus lock = limiter_.Peek(recipient);
  out->set_locked(lock.locked_until_ms > clock_.NowMs());
  out->set_locked_until_ms(lock.locked_until_ms);
  out->set_failed_logins(static_cast<uint32_t>(lock.failures));
  out->set_failed_totp_codes(static_cast<uint32_t>(lock.totp_failures));
  return grpc::Status::OK;
}

grpc::Status PortalAdminService::AccountShow(grpc::ServerContext*, const pb::AccountRequest* req,
                                             pb::AccountInfo* resp) {
  const std::string rcpt = NormalizeRecipient(req->recipient());
  if (rcpt.empty()) return BadRecipient(req->recipient());
  return Describe(rcpt, req->sender_domains(), resp);
}

grpc::Status PortalAdminService::AccountLogout(grpc::ServerContext*, const pb::AccountRequest* req,
                                               pb::AccountInfo* resp) {
  const std::string rcpt = NormalizeRecipient(req->recipient());
  if (rcpt.empty()) return BadRecipient(req->recipient());
  grpc::Status seen = Describe(rcpt, req->sender_domains(), resp);
  if (!seen.ok()) return seen;
  if (!resp->exists()) {
    return {grpc::StatusCode::NOT_FOUND,
            rcpt + " has no portal account (never registered): nothing to log out"};
  }
  // Every session made under an older generation no longer loads
  // (portal_sessions.h), exactly as after a password reset.
  Status s = vault_.store().UpdateAccount(rcpt, [](pb::Account& a) {
    a.set_session_generation(a.session_generation() + 1);
    return OkStatus();
  });
  if (!s.ok()) return AdminStatus(s.error());
  audit_.Record("admin_logout", rcpt, "local");
  return grpc::Status::OK;
}

grpc::Status PortalAdminService::AccountUnlock(grpc::ServerContext*, const pb::AccountRequest* req,
                                               pb::AccountInfo* resp) {
  const std::string rcpt = NormalizeRecipient(req->recipient());
  if (rcpt.empty()) return BadRecipient(req->recipient());
  pb::AccountInfo before;
  grpc::Status seen = Describe(rcpt, req->sender_domains(), &before);
  if (!seen.ok()) return seen;
  limiter_.Unlock(rcpt);
  audit_.Record("admin_unlock", rcpt, "local", {},
                before.locked() ? "was locked" : "was not locked");
  return Describe(rcpt, req->sender_domains(), resp);
}

}  // namespace sg::portal
