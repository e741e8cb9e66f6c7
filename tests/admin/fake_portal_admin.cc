#include "tests/admin/fake_portal_admin.h"

#include <algorithm>
#include <set>

#include "common/mail/address.h"

namespace sg::admin::testing {
namespace {

Error Unreachable() {
  return MakeError(ErrorCode::kUnavailable, "the portal's admin API at fake is unreachable");
}

}  // namespace

void FakePortalAdmin::Seed() {
  Add("partner@x.example", "0001", "ann@a.example");
  Add("partner@x.example", "0002", "bob@b.example");
  Add("pat@y.example", "0003", "bob@b.example");
  Add("partner@x.example", "0004", "cat@c.example");
  portalpb::AccountInfo a;
  a.set_address("partner@x.example");
  a.set_exists(true);
  a.set_created_ms(1'700'000'000'000);
  a.set_password_changed_ms(1'700'000'000'000);
  a.set_last_login_ms(1'700'000'100'000);
  a.set_totp(true);
  a.set_language("de");
  a.set_domain("a.example");
  a.set_locked(true);
  a.set_locked_until_ms(1'700'003'600'000);
  a.set_failed_logins(20);
  std::lock_guard<std::mutex> lock(mu_);
  accounts_[a.address()] = a;
}

void FakePortalAdmin::Add(const std::string& recipient, const std::string& id,
                          const std::string& sender) {
  std::lock_guard<std::mutex> lock(mu_);
  portalpb::ListedMessage m;
  m.set_recipient(recipient);
  m.set_id(id);
  m.set_sender(sender);
  m.set_sender_domain(mail::DomainOf(sender));
  m.set_stored_at_ms(1'700'000'000'000);
  m.set_expires_at_ms(1'700'000'000'000 + 30LL * 86'400'000);
  m.set_size(1234);
  messages_.push_back(std::move(m));
}

Result<portalpb::ListResponse> FakePortalAdmin::List(const portalpb::ListRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unreachable_) return Unreachable();
  const std::set<std::string> domains(req.sender_domains().begin(), req.sender_domains().end());
  const size_t limit = req.limit() == 0 ? 1000 : req.limit();
  portalpb::ListResponse out;
  // Newest first. (Reverse iterators, not std::ranges::reverse_view: clang-tidy's
  // clang 14 cannot parse libstdc++ 12's ranges, which turns into findings.)
  // NOLINTNEXTLINE(modernize-loop-convert): the range form is what clang 14 cannot parse
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    const auto& m = *it;
    if (!req.recipient().empty() && m.recipient() != req.recipient()) continue;
    if (!req.domain().empty() && m.sender_domain() != req.domain()) continue;
    if (!domains.empty() && !domains.contains(m.sender_domain())) continue;
    if (static_cast<size_t>(out.messages_size()) >= limit) {
      out.set_truncated(true);
      break;
    }
    *out.add_messages() = m;
  }
  return out;
}

Result<portalpb::PurgeResponse> FakePortalAdmin::Purge(const portalpb::PurgeRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unreachable_) return Unreachable();
  portalpb::PurgeResponse out;
  if (req.expired()) {
    ++expiry_runs_;
    return out;
  }
  const auto before = messages_.size();
  std::erase_if(messages_, [&](const portalpb::ListedMessage& m) {
    return m.recipient() == req.recipient() && (req.id().empty() || m.id() == req.id());
  });
  out.set_messages(static_cast<uint32_t>(before - messages_.size()));
  if (!req.id().empty() && out.messages() == 0) {
    return MakeError(ErrorCode::kNotFound, "no message " + req.id());
  }
  if (req.account()) {
    deleted_accounts_.push_back(req.recipient());
    out.set_account_deleted(true);
  }
  return out;
}

Result<portalpb::ResendLinkResponse> FakePortalAdmin::ResendLink(
    const portalpb::ResendLinkRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unreachable_) return Unreachable();
  for (const auto& m : messages_) {
    if (m.recipient() == req.recipient() && m.id() == req.id()) {
      resent_.push_back(req.recipient() + "/" + req.id());
      portalpb::ResendLinkResponse out;
      out.set_id(m.id());
      out.set_expires_ms(1'700'000'000'000 + 7LL * 86'400'000);
      return out;
    }
  }
  return MakeError(ErrorCode::kNotFound, "no message " + req.id());
}

Result<portalpb::AccountInfo> FakePortalAdmin::Describe(const portalpb::AccountRequest& req) {
  if (unreachable_) return Unreachable();
  const std::set<std::string> domains(req.sender_domains().begin(), req.sender_domains().end());
  uint64_t count = 0;
  for (const auto& m : messages_) {
    if (m.recipient() == req.recipient() &&
        (domains.empty() || domains.contains(m.sender_domain()))) {
      ++count;
    }
  }
  auto it = accounts_.find(req.recipient());
  const bool visible = domains.empty() ? (it != accounts_.end() || count > 0) : count > 0;
  if (!visible) return MakeError(ErrorCode::kNotFound, "no portal account or message");
  portalpb::AccountInfo out;
  if (it != accounts_.end()) out = it->second;
  out.set_address(req.recipient());
  out.set_messages(count);
  return out;
}

Result<portalpb::AccountInfo> FakePortalAdmin::AccountShow(const portalpb::AccountRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  return Describe(req);
}

Result<portalpb::AccountInfo> FakePortalAdmin::AccountLogout(const portalpb::AccountRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto info, Describe(req));
  if (!info.exists()) return MakeError(ErrorCode::kNotFound, "no portal account");
  logged_out_.push_back(req.recipient());
  return info;
}

Result<portalpb::AccountInfo> FakePortalAdmin::AccountUnlock(const portalpb::AccountRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  SG_ASSIGN_OR_RETURN(auto info, Describe(req));
  unlocked_.push_back(req.recipient());
  auto it = accounts_.find(req.recipient());
  if (it != accounts_.end()) {
    it->second.set_locked(false);
    it->second.set_locked_until_ms(0);
    it->second.set_failed_logins(0);
  }
  return Describe(req);
}

std::vector<std::string> FakePortalAdmin::LoggedOut() {
  std::lock_guard<std::mutex> lock(mu_);
  return logged_out_;
}

std::vector<std::string> FakePortalAdmin::Unlocked() {
  std::lock_guard<std::mutex> lock(mu_);
  return unlocked_;
}

std::vector<std::string> FakePortalAdmin::Keys() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& m : messages_) out.push_back(m.recipient() + "/" + m.id());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> FakePortalAdmin::Resent() {
  std::lock_guard<std::mutex> lock(mu_);
  return resent_;
}

std::vector<std::string> FakePortalAdmin::DeletedAccounts() {
  std::lock_guard<std::mutex> lock(mu_);
  return deleted_accounts_;
}

int FakePortalAdmin::expiry_runs() {
  std::lock_guard<std::mutex> lock(mu_);
  return expiry_runs_;
}

void FakePortalAdmin::SetUnreachable(bool unreachable) {
  std::lock_guard<std::mutex> lock(mu_);
  unreachable_ = unreachable;
}

}  // namespace sg::admin::testing
