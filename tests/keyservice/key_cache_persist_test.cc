// The worker key cache's persistent tier: a restarted worker starts warm,
// catches up on the change events it missed, drops everything on a reset,
// serves stale public entries while the keyservice is down (bounded), and
// never writes a private key to disk.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "common/config_node.h"
#include "keyservice/key_cache.h"
#include "keyservice/key_cache_config.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_key_service.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;
namespace fs = std::filesystem;

EncryptionCertificate Cert(const std::string& owner, const std::string& der) {
  EncryptionCertificate c;
  c.owner = owner;
  c.certificate_der = der;
  c.capabilities = {"aes256-gcm", "aes256-cbc"};
  return c;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class KeyCachePersistTest : public ::testing::Test {
 protected:
  std::string CacheDir() const { return (dir_.path() / "worker-key-cache").string(); }

  std::unique_ptr<CachingKeyService> OpenCache() {
    auto store = KeyCacheStore::Open(CacheDir(), "workers.key_cache.path");
    EXPECT_TRUE(store.ok()) << store.error().ToString();
    if (!store.ok()) return nullptr;
    KeyCacheOptions o;
    o.poll_wait = 50ms;
    o.retry_after_error = 10ms;
    o.ttl = 5min;
    o.max_stale = 1h;
    o.clock = &clock_;
    return std::make_unique<CachingKeyService>(ks_, o, std::move(*store));
  }

  testing::TempDir dir_;
  FakeClock clock_{std::chrono::system_clock::now()};
  sg::testing::FakeKeyService ks_;
};

TEST_F(KeyCachePersistTest, RestartedWorkerServesEncryptionCertificatesWithoutAskingUpstream) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  ks_.SetCertificate("carol@partner.example", std::nullopt);  // a known "no certificate"
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    EXPECT_EQ((*cache->GetEncryptionCertificate("Bob@Partner.example"))->certificate_der, "DER-bob-1");
    EXPECT_FALSE(cache->GetEncryptionCertificate("carol@partner.example")->has_value());
    EXPECT_FALSE(*cache->Participates("bob@partner.example"));
    EXPECT_TRUE(cache->GetTrustAnchors().ok());
  }
  const int enc = ks_.encryption_calls, part = ks_.participation_calls, anchors = ks_.anchor_calls;
  ASSERT_EQ(enc, 2);

  auto cache = OpenCache();
  cache->WaitUntilSynced(5s);
  auto bob = cache->GetEncryptionCertificate("bob@partner.example");
  ASSERT_TRUE(bob.ok() && bob->has_value());
  EXPECT_EQ((*bob)->certificate_der, "DER-bob-1");
  EXPECT_EQ((*bob)->capabilities, (std::vector<std::string>{"aes256-gcm", "aes256-cbc"}));
  EXPECT_FALSE(cache->GetEncryptionCertificate("carol@partner.example")->has_value());
  EXPECT_FALSE(*cache->Participates("bob@partner.example"));
  EXPECT_TRUE(cache->GetTrustAnchors().ok());
  EXPECT_EQ(ks_.encryption_calls, enc);
  EXPECT_EQ(ks_.participation_calls, part);
  EXPECT_EQ(ks_.anchor_calls, anchors);
  EXPECT_EQ(cache->disk_hits(), 4u);
  // From then on, memory.
  EXPECT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
  EXPECT_EQ(cache->disk_hits(), 4u);
  EXPECT_EQ(cache->hits(), 5u);
}

TEST_F(KeyCachePersistTest, EventMissedWhileDownIsAppliedWhenTheWatcherResumes) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  ks_.SetCertificate("dave@partner.example", Cert("dave@partner.example", "DER-dave-1"));
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
    ASSERT_TRUE(cache->GetEncryptionCertificate("dave@partner.example").ok());
    cache->WaitUntilSynced(5s);
  }
  // Renewed while the worker was down.
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-2"));
  const uint64_t epoch = ks_.epoch();

  auto cache = OpenCache();
  cache->WaitUntilSynced(5s);
  EXPECT_EQ(ks_.last_wait_epoch, epoch);  // resumed, not restarted from scratch
  const int before = ks_.encryption_calls;
  EXPECT_EQ((*cache->GetEncryptionCertificate("bob@partner.example"))->certificate_der, "DER-bob-2");
  EXPECT_EQ(ks_.encryption_calls, before + 1);
  // The other partner was not named by any event: still warm.
  EXPECT_EQ((*cache->GetEncryptionCertificate("dave@partner.example"))->certificate_der, "DER-dave-1");
  EXPECT_EQ(ks_.encryption_calls, before + 1);
}

TEST_F(KeyCachePersistTest, EventWhileRunningDeletesThePersistedEntry) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
    ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-2"));
    cache->WaitUntilSynced(5s);
  }
  auto store = KeyCacheStore::Open(CacheDir(), "k");
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->GetEncryption("bob@partner.example").has_value());
  EXPECT_EQ((*store)->position().epoch, ks_.epoch());
}

TEST_F(KeyCachePersistTest, KeyserviceResetDropsThePersistedEntries) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
  }
  ks_.Restart();  // new epoch: whatever the worker persisted may be outdated
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    const int before = ks_.encryption_calls;
    ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
    EXPECT_EQ(ks_.encryption_calls, before + 1);
    EXPECT_EQ(cache->disk_hits(), 0u);
  }
  // A domain-wide event drops every persisted entry as well.
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    ks_.Publish("certificate", "@partner.example");
    cache->WaitUntilSynced(5s);
  }
  auto store = KeyCacheStore::Open(CacheDir(), "k");
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->GetEncryption("bob@partner.example").has_value());
}

TEST_F(KeyCachePersistTest, ServesExpiredPublicEntriesWhileTheKeyserviceIsDownUpToMaxStale) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  SigningIdentity alice{"alice@example.com", "k1", "PRIVATE", "CERT", {}};
  ks_.SetSigning("alice@example.com", alice);
  auto cache = OpenCache();
  cache->WaitUntilSynced(5s);
  ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
  ASSERT_TRUE(cache->GetSigningIdentity("alice@example.com").ok());

  ks_.unavailable = true;
  clock_.Advance(10min);  // past the 5 min TTL
  auto stale = cache->GetEncryptionCertificate("bob@partner.example");
  ASSERT_TRUE(stale.ok()) << stale.error().ToString();
  EXPECT_EQ((*stale)->certificate_der, "DER-bob-1");
  EXPECT_EQ(cache->stale_served(), 1u);
  // Private keys are never served stale.
  auto signing = cache->GetSigningIdentity("alice@example.com");
  ASSERT_FALSE(signing.ok());
  EXPECT_EQ(signing.error().code, ErrorCode::kUnavailable);
  // An address never seen: the error.
  EXPECT_FALSE(cache->GetEncryptionCertificate("eve@partner.example").ok());
  // Once the watcher has seen the keyservice down, stale answers come at
  // once, without a call (which would wait out its deadline).
  for (int i = 0, w = ks_.wait_calls; i < 500 && ks_.wait_calls < w + 2; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  const int calls = ks_.encryption_calls;
  EXPECT_EQ((*cache->GetEncryptionCertificate("bob@partner.example"))->certificate_der, "DER-bob-1");
  EXPECT_EQ(ks_.encryption_calls, calls);
  EXPECT_EQ(cache->stale_served(), 2u);

  clock_.Advance(56min);  // 1 h 1 min past expiry: beyond max_stale
  auto too_old = cache->GetEncryptionCertificate("bob@partner.example");
  ASSERT_FALSE(too_old.ok());
  EXPECT_EQ(too_old.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(cache->stale_served(), 2u);

  // Back up: fresh answers again.
  ks_.unavailable = false;
  cache->WaitUntilSynced(5s);
  EXPECT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
  EXPECT_TRUE(cache->GetSigningIdentity("alice@example.com").ok());
}

TEST_F(KeyCachePersistTest, ASlowFailingLookupDuringTheOutageStillGetsTheStaleEntry) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  auto cache = OpenCache();
  cache->WaitUntilSynced(5s);
  ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
  clock_.Advance(10min);
  // The keyservice goes down; the lookup waits out a long deadline while the
  // watcher fails and retries several times meanwhile.
  ks_.latency = 200ms;
  ks_.unavailable = true;
  auto r = cache->GetEncryptionCertificate("bob@partner.example");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)->certificate_der, "DER-bob-1");
  EXPECT_EQ(cache->stale_served(), 1u);
  ks_.latency = 0ms;
}

TEST_F(KeyCachePersistTest, AfterLosingContactNothingIsServedAsCurrentAndMaxStaleZeroTurnsStaleOff) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  KeyCacheOptions o;
  o.poll_wait = 50ms;
  o.retry_after_error = 10ms;
  o.clock = &clock_;
  o.max_stale = 0ms;
  CachingKeyService cache(ks_, o);
  cache.WaitUntilSynced(5s);
  ASSERT_TRUE(cache.GetEncryptionCertificate("bob@partner.example").ok());
  ASSERT_TRUE(cache.GetEncryptionCertificate("bob@partner.example").ok());
  EXPECT_EQ(ks_.encryption_calls, 1);

  ks_.unavailable = true;  // not expired, but the watcher lost the events
  for (int i = 0, w = ks_.wait_calls; i < 500 && ks_.wait_calls < w + 2; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  auto r = cache.GetEncryptionCertificate("bob@partner.example");
  EXPECT_EQ(ks_.encryption_calls, 2);  // asked, not served from the cache
  ASSERT_FALSE(r.ok());  // and max_stale 0: no stale answer either
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(cache.stale_served(), 0u);
}

TEST_F(KeyCachePersistTest, WorkerRestartedWhileTheKeyserviceIsDownServesPersistedEntriesAsStale) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
  }
  ks_.unavailable = true;
  auto cache = OpenCache();
  const int before = ks_.encryption_calls;
  auto bob = cache->GetEncryptionCertificate("bob@partner.example");
  ASSERT_TRUE(bob.ok()) << bob.error().ToString();
  EXPECT_EQ((*bob)->certificate_der, "DER-bob-1");
  // Not trusted as current (the watcher never caught up): a stale answer,
  // from upstream's error or at once when the watcher already saw it down.
  EXPECT_LE(ks_.encryption_calls, before + 1);
  EXPECT_EQ(cache->disk_hits(), 0u);
  EXPECT_EQ(cache->stale_served(), 1u);
}

TEST_F(KeyCachePersistTest, InvalidationDuringAFetchIsNotPersisted) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  auto cache = OpenCache();
  cache->WaitUntilSynced(5s);
  bool raced = false;
  ks_.on_fetch = [&](const std::string&) {
    if (raced) return;
    raced = true;  // the answer (DER-bob-1) is read; now the certificate is renewed
    ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-2"));
    cache->WaitUntilSynced(5s);  // the watcher applied the event before the fetch returns
  };
  auto first = cache->GetEncryptionCertificate("bob@partner.example");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->certificate_der, "DER-bob-1");  // current when read
  ks_.on_fetch = nullptr;
  cache.reset();

  auto store = KeyCacheStore::Open(CacheDir(), "k");
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->GetEncryption("bob@partner.example").has_value());
  for (const auto& v : (*store)->RawValuesForTest()) {
    EXPECT_EQ(v.find("DER-bob-1"), std::string::npos);
  }
  store->reset();
  cache = OpenCache();
  cache->WaitUntilSynced(5s);
  EXPECT_EQ((*cache->GetEncryptionCertificate("bob@partner.example"))->certificate_der, "DER-bob-2");
}

TEST_F(KeyCachePersistTest, PrivateKeysAreNeverWrittenToDisk) {
  auto ca = testing::MakeCa("Test", clock_.Now());
  testing::LeafOptions lo;
  lo.email = "alice@example.com";
  lo.not_before = clock_.Now() - 1h;
  lo.not_after = clock_.Now() + 24h;
  PkeyPtr key;
  std::string cert = testing::MakeLeaf(ca, lo, &key);
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key.get());
  ASSERT_NE(p8, nullptr);
  unsigned char* buf = nullptr;
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf);
  ASSERT_GT(len, 0);
  std::string key_der(reinterpret_cast<char*>(buf), len);
  OPENSSL_free(buf);
  PKCS8_PRIV_KEY_INFO_free(p8);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_TRUE(PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr));
  char* pem_data = nullptr;
  long pem_len = BIO_get_mem_data(bio, &pem_data);
  std::string pem(pem_data, pem_len);
  BIO_free(bio);
  std::string pem_line = pem.substr(pem.find('\n') + 1, 64);  // first base64 line

  ks_.SetSigning("alice@example.com", SigningIdentity{"alice@example.com", "k1", key_der, cert, {}});
  ks_.SetDecryptionKeys("alice@example.com", {DecryptionKey{"k1", "alice@example.com", key_der, cert}});
  ks_.SetCertificate("alice@example.com", Cert("alice@example.com", cert));
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    ASSERT_EQ((*cache->GetSigningIdentity("alice@example.com"))->private_key_der, key_der);
    ASSERT_EQ(cache->GetDecryptionKeys("alice@example.com")->size(), 1u);
    ASSERT_TRUE(*cache->Participates("alice@example.com"));
    ASSERT_TRUE(cache->GetEncryptionCertificate("alice@example.com")->has_value());
  }
  auto store = KeyCacheStore::Open(CacheDir(), "k");
  ASSERT_TRUE(store.ok());
  auto values = (*store)->RawValuesForTest();
  bool cert_seen = false;
  for (const auto& v : values) {
    EXPECT_EQ(v.find(key_der), std::string::npos);
    EXPECT_EQ(v.find(pem_line), std::string::npos);
    cert_seen = cert_seen || v.find(cert) != std::string::npos;
  }
  EXPECT_TRUE(cert_seen);  // the scan does see what is stored
  store->reset();
  // Nor in any file RocksDB wrote (write-ahead log, tables, manifest).
  int files = 0;
  for (const auto& f : fs::directory_iterator(CacheDir())) {
    std::string data = ReadAll(f.path());
    EXPECT_EQ(data.find(key_der), std::string::npos) << f.path();
    EXPECT_EQ(data.find(pem_line), std::string::npos) << f.path();
    ++files;
  }
  EXPECT_GT(files, 2);
}

TEST_F(KeyCachePersistTest, CorruptCacheIsWipedAndTheWorkerStartsCold) {
  ks_.SetCertificate("bob@partner.example", Cert("bob@partner.example", "DER-bob-1"));
  {
    auto cache = OpenCache();
    cache->WaitUntilSynced(5s);
    ASSERT_TRUE(cache->GetEncryptionCertificate("bob@partner.example").ok());
  }
  for (const auto& f : fs::directory_iterator(CacheDir())) {
    if (f.path().filename() == "LOCK") continue;
    std::ofstream(f.path(), std::ios::binary | std::ios::trunc) << "this is not a database\n";
  }
  KeyCacheConfig config;
  config.path = CacheDir();
  metrics::Registry registry;
  auto cache = CachingKeyService::Open(ks_, config, &registry);
  ASSERT_TRUE(cache.ok()) << cache.error().ToString();
  EXPECT_TRUE((*cache)->persistent());
  (*cache)->WaitUntilSynced(5s);
  const int before = ks_.encryption_calls;
  EXPECT_EQ((*(*cache)->GetEncryptionCertificate("bob@partner.example"))->certificate_der, "DER-bob-1");
  EXPECT_EQ(ks_.encryption_calls, before + 1);
  EXPECT_NE(registry.Serialize().find("smimegate_worker_key_cache_misses_total 1"),
            std::string::npos) << registry.Serialize();
}

TEST_F(KeyCachePersistTest, ForeignFilesAreNeverWipedTheCacheRunsInMemory) {
  fs::create_directories(CacheDir());
  std::ofstream(fs::path(CacheDir()) / "CURRENT") << "garbage\n";
  std::ofstream(fs::path(CacheDir()) / "important.txt") << "someone's data\n";
  KeyCacheConfig config;
  config.path = CacheDir();
  auto cache = CachingKeyService::Open(ks_, config, nullptr);
  ASSERT_TRUE(cache.ok()) << cache.error().ToString();
  EXPECT_FALSE((*cache)->persistent());
  EXPECT_TRUE(fs::exists(fs::path(CacheDir()) / "important.txt"));
  EXPECT_FALSE((*cache)->GetEncryptionCertificate("bob@partner.example")->has_value());
}

TEST_F(KeyCachePersistTest, ACacheDirectoryInUseByAnotherProcessIsAStartUpError) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = KeyCacheStore::Open(CacheDir(), "workers.key_cache.path");
    char c = held.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  KeyCacheConfig config;
  config.path = CacheDir();
  auto cache = CachingKeyService::Open(ks_, config, nullptr);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(cache.error().message.find("workers.key_cache.path"), std::string::npos);
  EXPECT_NE(cache.error().message.find("in use by another process"), std::string::npos);

  // And within one process: the second worker gets the same answer.
  auto first = KeyCacheStore::Open(CacheDir(), "workers.key_cache.path");
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  auto second = KeyCacheStore::Open(CacheDir(), "workers.key_cache.path");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
}

TEST_F(KeyCachePersistTest, EntriesExpiredBeyondMaxStaleAreDroppedByCompaction) {
  auto store = KeyCacheStore::Open(CacheDir(), "k", 1h);
  ASSERT_TRUE(store.ok());
  auto now = std::chrono::system_clock::now();
  ASSERT_TRUE((*store)->PutEncryption("old@partner.example", {Cert("old@partner.example", "A"), now - 2h}).ok());
  ASSERT_TRUE((*store)->PutEncryption("recent@partner.example", {Cert("recent@partner.example", "B"), now - 30min}).ok());
  ASSERT_TRUE((*store)->PutParticipation("old@partner.example", {false, now - 3h}).ok());
  ASSERT_TRUE((*store)->ApplyChanges({}, false, CachePosition{7, 9}).ok());
  (*store)->CompactForTest();
  EXPECT_FALSE((*store)->GetEncryption("old@partner.example").has_value());
  EXPECT_FALSE((*store)->GetParticipation("old@partner.example").has_value());
  EXPECT_TRUE((*store)->GetEncryption("recent@partner.example").has_value());
  store->reset();
  store = KeyCacheStore::Open(CacheDir(), "k", 1h);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->position(), (CachePosition{7, 9}));  // metadata is never filtered
}

TEST(KeyCacheConfigTest, DefaultsAndErrors) {
  auto doc = config::ConfigDocument::LoadString("key_cache: {}\n", "t.yaml");
  ASSERT_TRUE(doc.ok());
  auto section = doc->Root().Map("key_cache");
  auto c = ParseKeyCacheConfig(*section, "/var/lib/sg");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(c->persist);
  EXPECT_EQ(c->path, "/var/lib/sg/worker-key-cache");
  EXPECT_EQ(c->ttl, std::chrono::minutes(5));
  EXPECT_EQ(c->max_stale, std::chrono::hours(1));

  doc = config::ConfigDocument::LoadString(
      "key_cache: {path: /cache, ttl: 30s, max_stale: 0, persist: false}\n", "t.yaml");
  c = ParseKeyCacheConfig(*doc->Root().Map("key_cache"), "/var/lib/sg");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->path, "/cache");
  EXPECT_EQ(c->ttl, std::chrono::seconds(30));
  EXPECT_EQ(c->max_stale, std::chrono::milliseconds(0));
  EXPECT_FALSE(c->persist);

  doc = config::ConfigDocument::LoadString("key_cache: {path: .}\n", "t.yaml");
  c = ParseKeyCacheConfig(*doc->Root().Map("key_cache"), "/var/lib/sg");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("key_cache.path"), std::string::npos) << c.error().message;
  doc = config::ConfigDocument::LoadString("key_cache: {ttl: 0}\n", "t.yaml");
  EXPECT_FALSE(ParseKeyCacheConfig(*doc->Root().Map("key_cache"), "/var/lib/sg").ok());
}

// A partner's every signed message carries the same certificate: the cache
// asks the keyservice once, answers "unchanged" after, and asks again once
// an event for the address (or a reset) says the keyservice's view changed.
TEST_F(KeyCachePersistTest, AKnownHarvestedCertificateIsNotSentToTheKeyserviceAgain) {
  auto cache = OpenCache();
  ASSERT_TRUE(cache);
  cache->WaitUntilSynced(5s);
  HarvestRequest req;
  req.address = "Partner@Example.org";
  req.certificate_der = "partner-cert-der";
  auto first = cache->HarvestCertificate(req);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->outcome, HarvestOutcome::kStored);
  for (int i = 0; i < 5; ++i) {
    auto again = cache->HarvestCertificate(req);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->outcome, HarvestOutcome::kUnchanged);
  }
  EXPECT_EQ(ks_.harvest_calls.load(), 1);

  HarvestRequest other = req;  // another certificate for the same address
  other.certificate_der = "renewed-partner-cert-der";
  ASSERT_TRUE(cache->HarvestCertificate(other).ok());
  EXPECT_EQ(ks_.harvest_calls.load(), 2);

  ks_.Publish("certificate", "partner@example.org");  // e.g. the admin removed it
  cache->WaitUntilSynced(5s);
  ASSERT_TRUE(cache->HarvestCertificate(req).ok());
  EXPECT_EQ(ks_.harvest_calls.load(), 3);

  // Rejected and pending answers are never remembered.
  ks_.harvest_outcome = HarvestOutcome::kPending;
  HarvestRequest pending = req;
  pending.certificate_der = "untrusted-ca-cert-der";
  ASSERT_TRUE(cache->HarvestCertificate(pending).ok());
  ASSERT_TRUE(cache->HarvestCertificate(pending).ok());
  EXPECT_EQ(ks_.harvest_calls.load(), 5);

  // While the keyservice is unreachable nothing is answered from memory.
  ks_.unavailable = true;
  auto down = cache->HarvestCertificate(req);
  for (int i = 0; i < 200 && down.ok(); ++i) {  // until the watcher notices
    std::this_thread::sleep_for(10ms);
    down = cache->HarvestCertificate(req);
  }
  EXPECT_FALSE(down.ok());
}

}  // namespace
}  // namespace sg::keyservice
