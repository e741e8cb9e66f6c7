// The alias index (alias_admin.h) in KeyServiceImpl: an alias signs,
// decrypts and participates as its user; the index follows alias changes,
// user removal and a new user taking an alias's address over; conflicts are
// refused.
#include <gtest/gtest.h>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using sg::testing::FakeClock;

class KeyAliasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = KeyServiceImpl::Open(testing::TestConfig(dir_.path()), {"example.com", "example.org"},
                                   registry_, clock_);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
    ASSERT_TRUE(ks_->PutUsers({User{"alice@example.com", true, ""}, User{"bob@example.com", true, ""}})
                    .ok());
  }

  std::string SigningKeyId(const std::string& address) {
    auto id = ks_->GetSigningIdentity(address);
    EXPECT_TRUE(id.ok()) << id.error().ToString();
    return id.ok() && id->has_value() ? (*id)->key_id : "";
  }

  testing::TempDir dir_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(KeyAliasesTest, AnAliasSignsDecryptsAndParticipatesAsItsUser) {
  const std::string alice_key = SigningKeyId("alice@example.com");
  ASSERT_FALSE(alice_key.empty());
  EXPECT_FALSE(*ks_->Participates("al@example.com"));
  ASSERT_TRUE(ks_->SetUserAliases("alice@example.com", {"AL@example.com", "alice@example.org"}).ok());
  EXPECT_EQ(*ks_->GetUserAliases("alice@example.com"),
            (std::vector<std::string>{"al@example.com", "alice@example.org"}));

  auto id = ks_->GetSigningIdentity("Al@Example.com");
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ((*id)->key_id, alice_key);
  EXPECT_EQ((*id)->address, "alice@example.com");  // the certificate's address
  EXPECT_TRUE(*ks_->Participates("alice@example.org"));
  auto keys = ks_->GetDecryptionKeys("al@example.com");
  ASSERT_TRUE(keys.ok());
  ASSERT_FALSE(keys->empty());
  EXPECT_EQ((*keys)[0].key_id, alice_key);
  EXPECT_EQ((*keys)[0].owner, "alice@example.com");

  // A user who does not participate: its aliases do not sign either; its
  // keys still decrypt mail to the alias.
  ASSERT_TRUE(ks_->PutUsers({User{"alice@example.com", false, ""}}).ok());
  EXPECT_EQ(*ks_->GetUserAliases("alice@example.com"),
            (std::vector<std::string>{"al@example.com", "alice@example.org"}));  // kept
  EXPECT_FALSE(ks_->GetSigningIdentity("al@example.com")->has_value());
  EXPECT_FALSE(*ks_->Participates("al@example.com"));
  EXPECT_FALSE(ks_->GetDecryptionKeys("al@example.com")->empty());
  // Unknown addresses stay unknown.
  EXPECT_FALSE(ks_->GetSigningIdentity("nobody@example.com")->has_value());
  EXPECT_TRUE(ks_->GetDecryptionKeys("nobody@example.com")->empty());
}

TEST_F(KeyAliasesTest, TheIndexFollowsChangesRemovalAndTakeOver) {
  ASSERT_TRUE(ks_->SetUserAliases("alice@example.com", {"al@example.com", "a@example.com"}).ok());
  ASSERT_TRUE(ks_->SetUserAliases("alice@example.com", {"al@example.com"}).ok());
  EXPECT_FALSE(*ks_->Participates("a@example.com"));  // dropped from the index
  EXPECT_TRUE(*ks_->Participates("al@example.com"));

  // A new user at an alias's address takes it over.
  ASSERT_TRUE(ks_->PutUsers({User{"al@example.com", true, ""}}).ok());
  EXPECT_TRUE(ks_->GetUserAliases("alice@example.com")->empty());
  auto id = ks_->GetSigningIdentity("al@example.com");
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ((*id)->address, "al@example.com");

  // Removing a user removes its aliases.
  ASSERT_TRUE(ks_->SetUserAliases("bob@example.com", {"robert@example.com"}).ok());
  EXPECT_TRUE(*ks_->Participates("robert@example.com"));
  ASSERT_TRUE(ks_->RemoveUser("bob@example.com").ok());
  EXPECT_FALSE(*ks_->Participates("robert@example.com"));
  ASSERT_TRUE(ks_->PutUsers({User{"bob@example.com", true, ""}}).ok());
  EXPECT_TRUE(ks_->GetUserAliases("bob@example.com")->empty());
  EXPECT_TRUE(ks_->SetUserAliases("alice@example.com", {"robert@example.com"}).ok());  // free again
}

TEST_F(KeyAliasesTest, ConflictsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(ks_->SetUserAliases("alice@example.com", {"al@example.com"}).ok());
  auto st = ks_->SetUserAliases("bob@example.com", {"b@example.com", "al@example.com"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(st.error().message.find("already an alias of alice@example.com"), std::string::npos);
  EXPECT_FALSE(*ks_->Participates("b@example.com"));  // all or nothing
  st = ks_->SetUserAliases("bob@example.com", {"alice@example.com"});
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  st = ks_->SetUserAliases("bob@example.com", {"bob@elsewhere.example"});
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  st = ks_->SetUserAliases("bob@example.com", {"not an address"});
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  st = ks_->SetUserAliases("carol@example.com", {"c@example.com"});
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  // A user's own address among its aliases is ignored.
  EXPECT_TRUE(ks_->SetUserAliases("bob@example.com", {"bob@example.com"}).ok());
  EXPECT_TRUE(ks_->GetUserAliases("bob@example.com")->empty());
}

}  // namespace
}  // namespace sg::keyservice
