// The worker-side cache sees new and renewed certificates without a restart.
#include "keyservice/key_cache.h"

#include <gtest/gtest.h>

#include "keyservice/key_service_impl.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

// Memory only (false) and over a persistent store (true): the same behaviour.
class KeyCacheTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto r = KeyServiceImpl::Open(testing::TestConfig(dir_.path()), {"example.com"}, registry_, clock_);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ks_ = std::move(*r);
    KeyCacheOptions o;
    o.poll_wait = 100ms;
    std::unique_ptr<KeyCacheStore> store;
    if (GetParam()) {
      auto opened = KeyCacheStore::Open((dir_.path() / "worker-key-cache").string(), "k");
      ASSERT_TRUE(opened.ok()) << opened.error().ToString();
      store = std::move(*opened);
    }
    cache_ = std::make_unique<CachingKeyService>(*ks_, o, std::move(store));
    cache_->WaitUntilSynced(5s);
  }
  void TearDown() override {
    cache_.reset();
    ks_.reset();
  }
  testing::TempDir dir_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<KeyServiceImpl> ks_;
  std::unique_ptr<CachingKeyService> cache_;
};

TEST_P(KeyCacheTest, HitsUntilAChangeEventDropsTheEntry) {
  ASSERT_TRUE(ks_->PutUsers({User{"alice@example.com", true, ""}}).ok());
  cache_->WaitUntilSynced(5s);
  auto first = cache_->GetSigningIdentity("alice@example.com");
  ASSERT_TRUE(first.ok() && first->has_value());
  cache_->WaitUntilSynced(5s);  // the "key" event of the first issuance
  first = cache_->GetSigningIdentity("alice@example.com");
  uint64_t misses = cache_->misses();
  auto again = cache_->GetSigningIdentity("alice@example.com");
  EXPECT_EQ(cache_->misses(), misses);
  EXPECT_GE(cache_->hits(), 1u);
  EXPECT_EQ((*again)->key_id, (*first)->key_id);

  // Renewed by the admin: the cache learns it from the event.
  auto renewed = ks_->Rollover("alice@example.com");
  ASSERT_TRUE(renewed.ok());
  cache_->WaitUntilSynced(5s);
  auto now = cache_->GetSigningIdentity("alice@example.com");
  EXPECT_EQ((*now)->key_id, renewed->key_id);
  EXPECT_EQ(cache_->GetDecryptionKeys("alice@example.com")->size(), 2u);
}

TEST_P(KeyCacheTest, NewPartnerCertificatesReplaceCachedNegatives) {
  auto partner = testing::MakeCa("Partner", clock_.Now());
  ASSERT_TRUE(ks_->TrustAdd({partner.der}).ok());
  cache_->WaitUntilSynced(5s);
  EXPECT_FALSE(cache_->GetEncryptionCertificate("bob@partner.example")->has_value());
  EXPECT_FALSE(cache_->GetEncryptionCertificate("bob@partner.example")->has_value());  // cached "none"

  testing::LeafOptions o;
  o.email = "bob@partner.example";
  o.not_before = clock_.Now() - 1h;
  o.not_after = clock_.Now() + 24h * 100;
  std::string cert = testing::MakeLeaf(partner, o);
  auto h = cache_->HarvestCertificate(HarvestRequest{"bob@partner.example", cert, {}, "", {}});
  ASSERT_EQ(h->outcome, HarvestOutcome::kStored) << h->reason;
  cache_->WaitUntilSynced(5s);
  auto enc = cache_->GetEncryptionCertificate("bob@partner.example");
  ASSERT_TRUE(enc->has_value());
  EXPECT_EQ((*enc)->certificate_der, cert);

  // A partner domain certificate concerns every address of the domain.
  EXPECT_FALSE(cache_->GetEncryptionCertificate("carol@partner.example")->has_value());
  o.email = "gw@partner.example";
  ASSERT_TRUE(ks_->ImportCertificates("@partner.example", {testing::MakeLeaf(partner, o)}).ok());
  cache_->WaitUntilSynced(5s);
  enc = cache_->GetEncryptionCertificate("carol@partner.example");
  ASSERT_TRUE(enc->has_value());
  EXPECT_TRUE((*enc)->domain_certificate);
}

INSTANTIATE_TEST_SUITE_P(MemoryAndPersistent, KeyCacheTest, ::testing::Bool());

}  // namespace
}  // namespace sg::keyservice
