// DKIM keys (issue 22, docs/dkim.md): the TXT record format and selector
// rules (dkim_keys.h), and KeyServiceImpl's keys: generation for hosted
// domains only, sealed under the KEK, rotation by selector (published ->
// active -> retired), removal, change events, and a sealed key that does not
// open.
#include "keyservice/dkim_keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>

#include "common/mail/base64.h"
#include "keyservice/dkim_store.pb.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using sg::testing::FakeClock;

TEST(DkimRecordTest, ValuesAndZoneLineSplitInto255ByteStrings) {
  EXPECT_EQ(DkimRecordName("s1", "example.com"), "s1._domainkey.example.com");
  EXPECT_EQ(DkimRecordValue("rsa", "QUJD"), "v=DKIM1; k=rsa; p=QUJD");
  EXPECT_EQ(DkimZoneLine("s1._domainkey.example.com", "v=DKIM1; k=ed25519; p=QUJD"),
            "s1._domainkey.example.com IN TXT \"v=DKIM1; k=ed25519; p=QUJD\"");
  const std::string value(600, 'a');
  EXPECT_EQ(DkimQuotedStrings(value), "\"" + std::string(255, 'a') + "\" \"" +
                                          std::string(255, 'a') + "\" \"" + std::string(90, 'a') +
                                          "\"");
  EXPECT_EQ(DkimQuotedStrings(std::string(255, 'b')), "\"" + std::string(255, 'b') + "\"");
}

TEST(DkimRecordTest, SelectorsAndAlgorithms) {
  EXPECT_EQ(*ParseDkimSelector("SG2026.Dec"), "sg2026.dec");
  EXPECT_EQ(*ParseDkimSelector("a-1"), "a-1");
  for (const char* bad : {"", "-a", "a-", "a..b", "a_b", "a b", "ä"}) {
    EXPECT_EQ(ParseDkimSelector(bad).error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ParseDkimSelector(std::string(64, 'a')).ok());
  EXPECT_EQ(*ParseDkimAlgorithm(""), "rsa");
  EXPECT_EQ(*ParseDkimAlgorithm("Ed25519"), "ed25519");
  EXPECT_NE(ParseDkimAlgorithm("dsa").error().message.find("rsa or ed25519"), std::string::npos);
}

// The p= value is the public half of the private key: RSA-2048 as a
// SubjectPublicKeyInfo, Ed25519 as the raw 32 bytes (RFC 8463).
TEST(DkimRecordTest, GeneratedKeysMatchTheirPublishedValue) {
  for (const std::string alg : {"rsa", "ed25519"}) {
    auto m = GenerateDkimKey(alg);
    ASSERT_TRUE(m.ok()) << m.error().ToString();
    const auto* p = reinterpret_cast<const unsigned char*>(m->private_key_der.data());
    EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(m->private_key_der.size()));
    ASSERT_NE(key, nullptr) << alg;
    auto pub = mail::Base64DecodeStrict(m->public_key);
    ASSERT_TRUE(pub.ok()) << alg;
    if (alg == "rsa") {
      EXPECT_EQ(EVP_PKEY_get_bits(key), 2048);
      const auto* q = reinterpret_cast<const unsigned char*>(pub->data());
      EVP_PKEY* spki = d2i_PUBKEY(nullptr, &q, static_cast<long>(pub->size()));
      ASSERT_NE(spki, nullptr);
      EXPECT_EQ(EVP_PKEY_eq(key, spki), 1);
      EVP_PKEY_free(spki);
    } else {
      EXPECT_EQ(EVP_PKEY_get_id(key), EVP_PKEY_ED25519);
      std::array<unsigned char, 32> raw{};
      size_t len = raw.size();
      ASSERT_EQ(EVP_PKEY_get_raw_public_key(key, raw.data(), &len), 1);
      EXPECT_EQ(*pub, std::string(reinterpret_cast<char*>(raw.data()), len));
    }
    EVP_PKEY_free(key);
  }
}

class DkimKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = KeyServiceImpl::Open(testing::TestConfig(dir_.path()), {"example.com", "example.org"},
                                   registry_, clock_);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
    auto start = ks_->WaitForChanges(0, 0, std::chrono::milliseconds(0));  // a reset: the position
    ASSERT_TRUE(start.ok());
    epoch_ = start->epoch;
    version_ = start->version;
  }

  // The "dkim" change events since SetUp, as "kind subject".
  std::vector<std::string> Events() {
    auto c = ks_->WaitForChanges(epoch_, version_, std::chrono::milliseconds(0));
    std::vector<std::string> out;
    if (!c.ok()) return out;
    for (const auto& e : c->events) {
      if (e.kind == "dkim") out.push_back(e.kind + " " + e.subject);
    }
    return out;
  }

  testing::TempDir dir_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::from_time_t(1796601600)};  // 2026-12-07
  std::unique_ptr<KeyServiceImpl> ks_;
  uint64_t epoch_ = 0, version_ = 0;
};

TEST_F(DkimKeysTest, KeygenNeedsAHostedDomainAndAFreeSelector) {
  EXPECT_EQ(ks_->DkimKeygen("other.example", "", "").error().code, ErrorCode::kNotFound);
  auto k = ks_->DkimKeygen("Example.COM", "", "");
  ASSERT_TRUE(k.ok()) << k.error().ToString();
  EXPECT_EQ(k->domain, "example.com");
  EXPECT_EQ(k->selector, "sg20261207");  // the default: today
  EXPECT_EQ(k->algorithm, "rsa");
  EXPECT_EQ(k->state, "published");
  EXPECT_EQ(k->record_name, "sg20261207._domainkey.example.com");
  EXPECT_EQ(k->record_value, "v=DKIM1; k=rsa; p=" + k->public_key);
  EXPECT_EQ(ks_->DkimKeygen("example.com", "SG20261207", "ed25519").error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(ks_->DkimKeygen("example.com", "bad_selector", "").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ks_->DkimKeygen("example.com", "x", "dsa").error().code, ErrorCode::kInvalidArgument);
  // Published, not active: nothing signs yet.
  EXPECT_FALSE(ks_->GetDkimKey("example.com")->has_value());
  EXPECT_EQ(Events(), std::vector<std::string>{"dkim @example.com"});
}

TEST_F(DkimKeysTest, RotationBySelector) {
  ASSERT_TRUE(ks_->DkimKeygen("example.com", "s1", "rsa").ok());
  ASSERT_TRUE(ks_->DkimKeygen("example.com", "s2", "ed25519").ok());
  ASSERT_TRUE(ks_->DkimKeygen("example.org", "s1", "ed25519").ok());
  auto a = ks_->DkimActivate("example.com", "s1");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->state, "active");
  auto key = ks_->GetDkimKey("EXAMPLE.com");
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_EQ((*key)->selector, "s1");
  EXPECT_EQ((*key)->algorithm, "rsa");
  EXPECT_FALSE((*key)->private_key_der.empty());

  clock_.Advance(std::chrono::hours(24));
  ASSERT_TRUE(ks_->DkimActivate("example.com", "s2").ok());
  key = ks_->GetDkimKey("example.com");
  EXPECT_EQ((*key)->selector, "s2");
  EXPECT_EQ((*key)->algorithm, "ed25519");
  auto list = ks_->DkimList("example.com");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].selector + " " + (*list)[0].state, "s1 retired");  // kept for verification
  EXPECT_EQ((*list)[1].selector + " " + (*list)[1].state, "s2 active");
  EXPECT_EQ(ks_->DkimList("")->size(), 3u);
  // The other domain is untouched.
  EXPECT_FALSE(ks_->GetDkimKey("example.org")->has_value());

  // The active key cannot be removed; the retired one can.
  auto refused = ks_->DkimRemove("example.com", "s2");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("activate another selector first"), std::string::npos);
  ASSERT_TRUE(ks_->DkimRemove("example.com", "s1").ok());
  EXPECT_EQ(ks_->DkimRemove("example.com", "s1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ks_->DkimActivate("example.com", "nosuch").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ks_->DkimList("example.com")->size(), 1u);
  EXPECT_EQ(Events().size(), 6u);  // 3 keygen, 2 activate, 1 remove
}

// The store holds the private key only sealed under the KEK, bound to its
// record; a record that does not open is an error naming domain and selector.
TEST_F(DkimKeysTest, PrivateKeysAreSealedAndABrokenSealIsReported) {
  ASSERT_TRUE(ks_->DkimKeygen("example.com", "s1", "ed25519").ok());
  ASSERT_TRUE(ks_->DkimActivate("example.com", "s1").ok());
  auto key = ks_->GetDkimKey("example.com");
  ASSERT_TRUE(key.ok() && key->has_value());
  auto raw = ks_->store().GetMeta("dkim/example.com/s1");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  ASSERT_EQ((*raw)->find((*key)->private_key_der), std::string::npos) << "stored in clear";
  store::StoredDkimKey stored;
  ASSERT_TRUE(stored.ParseFromString(**raw));
  EXPECT_FALSE(stored.sealed_private_key().empty());

  // Moved under another selector (another AAD): it does not open.
  stored.set_selector("s9");
  stored.set_state("published");
  stored.set_activated_at(0);
  ASSERT_TRUE(ks_->store().PutMeta("dkim/example.com/s9", stored.SerializeAsString()).ok());
  ASSERT_TRUE(ks_->DkimActivate("example.com", "s9").ok());
  auto broken = ks_->GetDkimKey("example.com");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kCorruption);
  EXPECT_NE(broken.error().message.find("DKIM key s9 of example.com"), std::string::npos)
      << broken.error().message;
}

}  // namespace
}  // namespace sg::keyservice
