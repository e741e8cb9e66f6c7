// Sessions (portal_sessions.h): a pre-login session costs no store write
// until it carries something (review M5), its CSRF token is bound to the
// cookie value, and a session ended by a logout stays ended even when a
// request that loaded it earlier saves it afterwards (L1).
#include "portal/portal_sessions.h"

#include <gtest/gtest.h>

#include "portal/portal_crypto.h"
#include "portal/portal_store_memory.h"
#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

class PortalSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pb::Account bob;
    bob.set_address("bob@partner.example");
    bob.set_created_ms(clock_.NowMs());
    ASSERT_TRUE(store_.PutAccount(bob).ok());
  }
  size_t Stored() { return store_.SweepSessions(INT64_MAX).value(); }

  testing::FakeClock clock_;
  MemoryPortalStore store_;
  Sessions sessions_{store_, clock_, std::chrono::minutes(30), std::chrono::hours(12)};
};

TEST_F(PortalSessionsTest, APreLoginSessionIsNotStoredAndItsCsrfIsBoundToTheCookie) {
  auto created = sessions_.Create("");
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(created->stored);
  EXPECT_FALSE(store_.GetSession(Sha256(created->id))->has_value());
  // The form's POST: the same cookie gives the same token, without a record.
  auto loaded = sessions_.Load(created->id);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->data.csrf(), created->data.csrf());
  EXPECT_FALSE((*loaded)->logged_in());
  auto other = sessions_.Create("");
  EXPECT_NE(other->data.csrf(), created->data.csrf());
  // Another process (another key) does not accept the token.
  Sessions restarted(store_, clock_, std::chrono::minutes(30), std::chrono::hours(12));
  EXPECT_NE((*restarted.Load(created->id))->data.csrf(), created->data.csrf());
  EXPECT_EQ(Stored(), 0u);
  // Stored once it carries something (a message link's "open after login").
  (*loaded)->data.set_after_login("0001");
  ASSERT_TRUE(sessions_.Save(**loaded).ok());
  EXPECT_EQ((*sessions_.Load(created->id))->data.after_login(), "0001");
}

TEST_F(PortalSessionsTest, ALoggedOutSessionIsNotBroughtBackByALateSave) {
  auto login = sessions_.Rotate(*sessions_.Create(""), "bob@partner.example", false, 0);
  ASSERT_TRUE(login.ok());
  auto running = sessions_.Load(login->id);  // a request still running
  ASSERT_TRUE(running.ok() && running->has_value());
  ASSERT_TRUE(sessions_.Destroy(*login).ok());  // /logout
  ASSERT_TRUE(sessions_.Save(**running, /*force=*/true).ok());
  EXPECT_FALSE(store_.GetSession(Sha256(login->id))->has_value());
  auto again = sessions_.Load(login->id);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_FALSE((*again)->logged_in());
}

TEST_F(PortalSessionsTest, ASessionOfADeletedOrNewerAccountIsLoggedOut) {
  auto login = sessions_.Rotate(*sessions_.Create(""), "bob@partner.example", false, 0);
  ASSERT_TRUE(login.ok());
  ASSERT_TRUE(store_.DeleteAccount("bob@partner.example").ok());
  clock_.AdvanceMs(1000);
  // Registered again later: the old session does not belong to the new account.
  pb::Account bob;
  bob.set_address("bob@partner.example");
  bob.set_created_ms(clock_.NowMs());
  ASSERT_TRUE(store_.PutAccount(bob).ok());
  auto loaded = sessions_.Load(login->id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
  EXPECT_FALSE(store_.GetSession(Sha256(login->id))->has_value());
}

}  // namespace
}  // namespace sg::portal
