// FakePortalAdmin: the portal's admin (admin/admin_portal.h) over a list of
// messages in memory, with the portal's filters (recipient, domain,
// sender_domains, limit), purges, link resends and an "unreachable" switch,
// for the /v1/portal route tests.
//
// The fixture (Seed) matches AdminTestServer's tenants:
//   partner@x.example  0001 from ann@a.example, 0002 from bob@b.example,
//                      0004 from cat@c.example
//   pat@y.example      0003 from bob@b.example
// and one account: partner@x.example (first domain a.example, TOTP on,
// locked with 20 failed logins); pat@y.example has messages, no account.
//
// Threading: thread-safe (one mutex); the REST server calls it from its workers.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "admin/admin_portal.h"

namespace sg::admin::testing {

class FakePortalAdmin final : public PortalAdminApi {
 public:
  FakePortalAdmin() { Seed(); }

  Result<portalpb::ListResponse> List(const portalpb::ListRequest& request) override;
  Result<portalpb::PurgeResponse> Purge(const portalpb::PurgeRequest& request) override;
  Result<portalpb::ResendLinkResponse> ResendLink(
      const portalpb::ResendLinkRequest& request) override;
  Result<portalpb::AccountInfo> AccountShow(const portalpb::AccountRequest& request) override;
  Result<portalpb::AccountInfo> AccountLogout(const portalpb::AccountRequest& request) override;
  Result<portalpb::AccountInfo> AccountUnlock(const portalpb::AccountRequest& request) override;

  void Seed();
  void Add(const std::string& recipient, const std::string& id, const std::string& sender);
  // "recipient/id" of every stored message.
  std::vector<std::string> Keys();
  std::vector<std::string> Resent();  // "recipient/id" per ResendLink
  std::vector<std::string> DeletedAccounts();
  std::vector<std::string> LoggedOut();  // recipient per AccountLogout
  std::vector<std::string> Unlocked();   // recipient per AccountUnlock
  int expiry_runs();
  void SetUnreachable(bool unreachable);

 private:
  // The account's state as the portal answers it (mu_ held).
  Result<portalpb::AccountInfo> Describe(const portalpb::AccountRequest& request);

  std::mutex mu_;
  std::vector<portalpb::ListedMessage> messages_;  // newest last
  std::vector<std::string> resent_;
  std::vector<std::string> deleted_accounts_;
  std::map<std::string, portalpb::AccountInfo> accounts_;
  std::vector<std::string> logged_out_;
  std::vector<std::string> unlocked_;
  int expiry_runs_ = 0;
  bool unreachable_ = false;
};

}  // namespace sg::admin::testing
