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

// The AAD the vault binds a sealed value to: what, recipient, id.
std::string Aad(const std::string& what, const std::string& rcpt, const std::string& id) {
  return what + std::string(1, '\0') + rcpt + std::string(1, '\0') + id;
}

// Replaces a stored record and its sealed content, as someone with write
// access to the store could (a fresh source key, so a store that keeps
// tombstones of deleted sources still takes it).
void Replace(PortalStore& store, pb::StoredMessage m, const std::string& content) {
  ASSERT_TRUE(store.DeleteMessage(m.recipient(), m.id()).ok());
  static int n = 0;
  m.set_source_key(m.source_key() + "#replaced" + std::to_string(++n));
  auto put = store.PutMessage(m, content);
  ASSERT_TRUE(put.ok() && put->created);
}

TEST_F(PortalVaultTest, TamperedWrappedKeyDoesNotOpen) {
  auto put = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  ASSERT_TRUE(put.ok());
  pb::StoredMessage tampered = put->message;
  std::string bad_key = tampered.wrapped_key();
  bad_key[20] = static_cast<char>(bad_key[20] ^ 1);
  tampered.set_wrapped_key(bad_key);
  auto content = vault_->Content(tampered);
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.error().code, ErrorCode::kPermissionDenied);
  auto summary = vault_->Summary(tampered);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().code, ErrorCode::kPermissionDenied);
}

// L14 of the review: one flipped bit anywhere in the stored content (the
// record and its key untouched) is refused.
TEST_F(PortalVaultTest, TamperedStoredContentDoesNotOpen) {
  auto put = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  ASSERT_TRUE(put.ok());
  const pb::StoredMessage m = put->message;
  const std::string sealed = *store_.GetContent(m.recipient(), m.id());
  ASSERT_TRUE(vault_->Content(m).ok());
  for (size_t at : {size_t{1}, sealed.size() / 2, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    Replace(store_, m, bad);
    auto opened = vault_->Content(m);
    ASSERT_FALSE(opened.ok()) << "byte " << at << " flipped and the content still opened";
    EXPECT_NE(opened.error().code, ErrorCode::kNotFound);
  }
}

// L14: content moved from one record to another does not open, neither
// with the other record's own data key nor when the attacker also moves the
// data key (re-wrapped for the other record, so unwrapping succeeds and
// only the content's own binding to recipient and id can refuse it).
TEST_F(PortalVaultTest, ContentMovedToAnotherRecipientDoesNotOpen) {
  auto bob = vault_->Store(Incoming("bob@p.example", "q1/bob@p.example"));
  auto carol = vault_->Store(Incoming("carol@p.example", "q1/carol@p.example"));
  ASSERT_TRUE(bob.ok() && carol.ok());
  const pb::StoredMessage& b = bob->message;
  const pb::StoredMessage& c = carol->message;
  const std::string bobs_content = *store_.GetContent(b.recipient(), b.id());
  // Bob's sealed content under Carol's record, with Carol's data key.
  Replace(store_, c, bobs_content);
  ASSERT_TRUE(vault_->Summary(c).ok()) << "carol's own key must still unwrap";
  auto with_carols_key = vault_->Content(c);
  ASSERT_FALSE(with_carols_key.ok());
  EXPECT_EQ(with_carols_key.error().code, ErrorCode::kPermissionDenied);
  // The same, with Bob's data key re-wrapped for Carol's record.
  auto raw = vault_->OpenSecret(b.wrapped_key(), Aad("data-key", b.recipient(), b.id()), b.key_id());
  ASSERT_TRUE(raw.ok()) << "the test's AAD layout no longer matches the vault";
  std::string key_id;
  pb::StoredMessage moved = c;
  moved.set_wrapped_key(
      vault_->SealSecret(*raw, Aad("data-key", c.recipient(), c.id()), &key_id));
  moved.set_key_id(key_id);
  moved.set_sealed_summary(b.sealed_summary());
  Replace(store_, moved, bobs_content);
  auto content = vault_->Content(moved);
  ASSERT_FALSE(content.ok()) << "bob's content opened as carol's: " << *content;
  EXPECT_EQ(content.error().code, ErrorCode::kPermissionDenied);
  EXPECT_FALSE(vault_->Summary(moved).ok()) << "bob's summary opened as carol's";
  // The control: the re-wrapped key itself works, so the refusal above is
  // the content's binding and not a broken key.
  EXPECT_EQ(*vault_->OpenSecret(moved.wrapped_key(), Aad("data-key", c.recipient(), c.id()),
                                key_id),
            *raw);
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
