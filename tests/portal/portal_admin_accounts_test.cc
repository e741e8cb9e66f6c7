// PortalAdmin's account methods (portal_admin_accounts.cc) against the
// running stage: what `account show` reports (times, second factor, the
// login limiter's lock and counts, the messages within a domain scope),
// that a logout ends the recipient's live browser session, that an unlock
// lets the right password in again at once, and that both are audited in
// the portal's own log.
#include <gtest/gtest.h>

#include "portal/portal_admin.h"
#include "tests/portal/portal_service_fixture.h"

namespace sg::portal {
namespace {

using testing::kPassword;

constexpr const char* kBob = "bob@partner.example";

class PortalAdminAccountsTest : public testing::PortalServiceFixture {
 protected:
  void Configure(PortalConfig& config) override { config.max_login_failures = 3; }

  PortalAdminService& Admin() {
    return *static_cast<PortalAdminService*>(service_->admin_service());
  }
  // AccountShow/Logout/Unlock of bob within `domains` (empty: all).
  grpc::Status Ask(grpc::Status (PortalAdminService::*call)(grpc::ServerContext*,
                                                            const pb::AccountRequest*,
                                                            pb::AccountInfo*),
                   pb::AccountInfo* out, const std::vector<std::string>& domains = {}) {
    pb::AccountRequest req;
    req.set_recipient("Bob@Partner.Example");  // normalised by the portal
    for (const auto& d : domains) req.add_sender_domains(d);
    return (Admin().*call)(nullptr, &req, out);
  }
  bool HasAudit(const std::string& event) {
    auto records = service_->store().ListAudit(1000);
    if (!records.ok()) return false;
    for (const auto& e : *records) {
      if (e.event() == event && e.address() == kBob) return true;
    }
    return false;
  }
  int InboxStatus(const std::string& cookie) {
    auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
    return inbox ? inbox->status : -1;
  }
};

TEST_F(PortalAdminAccountsTest, ShowsTheStateLogsOutAndUnlocks) {
  pb::AccountInfo info;
  EXPECT_EQ(Ask(&PortalAdminService::AccountShow, &info).error_code(),
            grpc::StatusCode::NOT_FOUND);  // neither an account nor a message
  Put("q1", kBob, "For Bob");
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  ASSERT_TRUE(Ask(&PortalAdminService::AccountShow, &info).ok());
  EXPECT_FALSE(info.exists());  // a message, no account yet
  EXPECT_EQ(info.messages(), 1u);

  const int64_t registered = clock_.NowMs();
  ASSERT_FALSE(Register(LinkToken(notes[0])).empty());
  AdvanceMs(60'000);
  auto login = Login(kBob, kPassword);
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 303) << login->body;
  const std::string session = Cookie(login);
  ASSERT_EQ(InboxStatus(session), 200);
  ASSERT_TRUE(Ask(&PortalAdminService::AccountShow, &info).ok());
  EXPECT_EQ(info.address(), kBob);
  EXPECT_TRUE(info.exists());
  EXPECT_EQ(info.created_ms(), registered);
  EXPECT_EQ(info.last_login_ms(), registered + 60'000);
  EXPECT_FALSE(info.totp());
  EXPECT_FALSE(info.locked());
  EXPECT_EQ(info.messages(), 1u);
  // Scoped: counted only within the caller's sending domains, else not there.
  ASSERT_TRUE(Ask(&PortalAdminService::AccountShow, &info, {"corp.example"}).ok());
  EXPECT_EQ(info.messages(), 1u);
  EXPECT_EQ(Ask(&PortalAdminService::AccountShow, &info, {"other.example"}).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // The logout ends the live session; the password still logs in.
  ASSERT_TRUE(Ask(&PortalAdminService::AccountLogout, &info).ok());
  EXPECT_EQ(InboxStatus(session), 303);
  EXPECT_TRUE(HasAudit("admin_logout"));

  // Three wrong passwords lock the address, even for the right one ...
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Login(kBob, "wrong-password"));
  ASSERT_TRUE(Ask(&PortalAdminService::AccountShow, &info).ok());
  EXPECT_TRUE(info.locked());
  EXPECT_EQ(info.failed_logins(), 3u);
  EXPECT_EQ(info.locked_until_ms(), clock_.NowMs() + config_.lockout.count());
  auto locked = Login(kBob, kPassword);
  ASSERT_TRUE(locked);
  EXPECT_NE(locked->status, 303);
  // ... until an admin unlocks it.
  ASSERT_TRUE(Ask(&PortalAdminService::AccountUnlock, &info).ok());
  EXPECT_FALSE(info.locked());
  EXPECT_EQ(info.failed_logins(), 0u);
  EXPECT_TRUE(HasAudit("admin_unlock"));
  auto again = Login(kBob, kPassword);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 303) << again->body;
  EXPECT_EQ(InboxStatus(Cookie(again)), 200);
}

TEST_F(PortalAdminAccountsTest, LogoutWithoutAnAccountIsNotFound) {
  Put("q1", kBob, "For Bob");
  ASSERT_EQ(WaitForNotifications(1).size(), 1u);
  pb::AccountInfo info;
  EXPECT_EQ(Ask(&PortalAdminService::AccountLogout, &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(HasAudit("admin_logout"));
  pb::AccountRequest bad;
  bad.set_recipient("not an address");
  EXPECT_EQ(Admin().AccountShow(nullptr, &bad, &info).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace sg::portal
