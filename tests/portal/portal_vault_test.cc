// The vault: message content sealed under its own data key, wrapped by the
// portal key, sealed by the KEK. Round trip, nothing plain in the store,
// tampering and moved values refused, the wrong KEK refused at open.
#include "portal/portal_vault.h"

#include <gtest/gtest.h>

#include "portal/portal_store_memory.h"
#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

IncomingMessage Incoming(const std::string& rcpt, const std::string& source) {
  IncomingMessage in;
  in.source_key = source;
  in.queue_message_id = "q1";
  in.recipient = rcpt;
  in.sender = "alice@corp.example";
  in.sender_domain = "corp.example";
  in.expires_at_ms = 2'000'000'000'000;
  in.content = "Subject: Quarterly figures\r\n\r\nTOP SECRET BODY\r\n";
  in.summary.set_subject("Quarterly figures");
  return in;
}

class PortalVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = PortalVault::Open(kek_, store_, clock_);
    ASSERT_TRUE(v.ok()) << v.error().ToString();
    vault_ = std::move(*v);
  }
  SecretKey kek_ = SecretKey::Random();
  MemoryPortalStore store_;
  testing::FakeClock clock_;
  std::unique_ptr<PortalVault> vault_;
};

TEST_F(PortalVaultTest, StoresSealedAndOpensForItsRecipient) {
  auto put = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  ASSERT_TRUE(put.ok()) << put.error().ToString();
  ASSERT_TRUE(put->created);
  const pb::StoredMessage& m = put->message;
  auto sealed = store_.GetContent("bob@p.example", m.id());
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("TOP SECRET"), std::string::npos);
  EXPECT_EQ(m.sealed_summary().find("Quarterly"), std::string::npos);
  EXPECT_EQ(*vault_->Content(m), "Subject: Quarterly figures\r\n\r\nTOP SECRET BODY\r\n");
  EXPECT_EQ(vault_->Summary(m)->subject(), "Quarterly figures");
}

TEST_F(PortalVaultTest, StoringTwiceKeepsOne) {
  auto a = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  auto b = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(b->created);
  EXPECT_EQ(a->message.id(), b->message.id());
  EXPECT_EQ(*store_.CountMessages("bob@p.example"), 1u);
}

TEST_F(PortalVaultTest, TamperedContentOrWrappedKeyDoesNotOpen) {
  auto put = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  pb::StoredMessage m = put->message;
  std::string bad_key = m.wrapped_key();
  bad_key[20] = static_cast<char>(bad_key[20] ^ 1);
  pb::StoredMessage tampered = m;
  tampered.set_wrapped_key(bad_key);
  EXPECT_EQ(vault_->Content(tampered).error().code, ErrorCode::kPermissionDenied);
  // Content sealed for one record does not open as another's.
  auto other = vault_->Store(Incoming("carol@p.example", "q1/carol@p.example"));
  pb::StoredMessage swapped = other->message;
  swapped.set_wrapped_key(m.wrapped_key());
  EXPECT_FALSE(vault_->Content(swapped).ok());
  pb::StoredMessage moved = m;
  moved.set_recipient("carol@p.example");
  moved.set_id(other->message.id());
  EXPECT_FALSE(vault_->Content(moved).ok());
}

TEST_F(PortalVaultTest, ReopensWithTheSameKekNotWithAnother) {
  auto put = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  auto again = PortalVault::Open(kek_, store_, clock_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->Content(put->message).ok());
  EXPECT_EQ(store_.GetKeys()->size(), 1u);  // no second portal key
  auto wrong = PortalVault::Open(SecretKey::Random(), store_, clock_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(PortalVaultTest, SecretsSealedWithTheirAad) {
  std::string key_id;
  const std::string bob("totp\0bob", 8);
  const std::string eve("totp\0eve", 8);
  const std::string sealed = vault_->SealSecret("totp-secret", bob, &key_id);
  EXPECT_EQ(*vault_->OpenSecret(sealed, bob, key_id), "totp-secret");
  EXPECT_FALSE(vault_->OpenSecret(sealed, eve, key_id).ok());
  EXPECT_FALSE(vault_->OpenSecret(sealed, bob, "nokey").ok());
}

TEST(PortalVaultIds, IdsSortByTimeAndAreUnique) {
  const std::string a = NewMessageId(1000);
  const std::string b = NewMessageId(1000);
  const std::string c = NewMessageId(1001);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_LT(a.substr(0, 16), c.substr(0, 16));
}

}  // namespace
}  // namespace sg::portal
