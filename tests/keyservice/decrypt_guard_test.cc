// The DecryptFailureGuard contract (common/decrypt_guard.h), one suite
// over both implementations: the store itself (what `smimegate run` calls)
// and the gRPC client against the service on a loopback port (what
// `smimegate worker` calls). Plus the store's bounds and persistence.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <cstring>
#include <functional>

#include <unistd.h>

#include "keyservice/decrypt_guard_grpc_client.h"
#include "keyservice/decrypt_guard_grpc_server.h"
#include "keyservice/decrypt_guard_store.h"

namespace sg::keyservice {
namespace {

std::string Digest(char c) { return std::string(32, c); }

ContentKeySighting Sighting(char key, char ct, int64_t now, const std::string& id = "m1") {
  return ContentKeySighting{Digest(key), Digest(ct), id, now};
}

FailureDsnRequest Dsn(const std::string& sender, char key, const std::string& id, int64_t now) {
  return FailureDsnRequest{sender, Digest(key), id, now};
}

// A guard under test plus whatever keeps it alive.
struct Fixture {
  std::unique_ptr<DecryptGuardStore> store;
  std::unique_ptr<DecryptGuardGrpc> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<DecryptGuardClient> client;
  DecryptFailureGuard* guard = nullptr;
  ~Fixture() {
    client.reset();
    if (server) server->Shutdown();
  }
};

using Factory = std::function<void(Fixture&, const DecryptGuardOptions&)>;

void Direct(Fixture& f, const DecryptGuardOptions& o) {
  f.store = DecryptGuardStore::Open(o).value();
  f.guard = f.store.get();
}

void OverGrpc(Fixture& f, const DecryptGuardOptions& o) {
  f.store = DecryptGuardStore::Open(o).value();
  f.service = std::make_unique<DecryptGuardGrpc>(*f.store);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(f.service.get());
  f.server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  const std::string endpoint = "127.0.0.1:" + std::to_string(port);
  f.client = std::make_unique<DecryptGuardClient>(
      grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()), endpoint);
  f.guard = f.client.get();
}

class GuardContract : public ::testing::TestWithParam<std::pair<const char*, Factory>> {
 protected:
  void Make(DecryptGuardOptions o = {}) { GetParam().second(f_, o); }
  Fixture f_;
};

TEST_P(GuardContract, AContentKeyWithOtherCiphertextIsReplayed) {
  Make();
  DecryptFailureGuard& g = *f_.guard;
  EXPECT_EQ(g.ObserveContentKey(Sighting('k', 'a', 1000)).value(), ContentKeyVerdict::kFirst);
  // The same message again (redelivery) or resent: harmless.
  EXPECT_EQ(g.ObserveContentKey(Sighting('k', 'a', 2000, "m2")).value(), ContentKeyVerdict::kSame);
  // The same content key with other ciphertext: the padding-oracle pattern.
  EXPECT_EQ(g.ObserveContentKey(Sighting('k', 'b', 3000)).value(), ContentKeyVerdict::kReplayed);
  EXPECT_EQ(g.ObserveContentKey(Sighting('k', 'c', 4000)).value(), ContentKeyVerdict::kReplayed);
  // Another content key is independent.
  EXPECT_EQ(g.ObserveContentKey(Sighting('j', 'b', 5000)).value(), ContentKeyVerdict::kFirst);
}

TEST_P(GuardContract, OneDsnPerSenderAndKey) {
  Make();
  DecryptFailureGuard& g = *f_.guard;
  EXPECT_EQ(g.PermitFailureDsn(Dsn("eve@evil.example", 'k', "m1", 1000)).value(),
            DsnPermission::kAllowed);
  // The same message processed again (a crash before commit): its DSN again.
  EXPECT_EQ(g.PermitFailureDsn(Dsn("eve@evil.example", 'k', "m1", 1100)).value(),
            DsnPermission::kAllowed);
  // Another message with the same content key: none.
  EXPECT_EQ(g.PermitFailureDsn(Dsn("eve@evil.example", 'k', "m2", 1200)).value(),
            DsnPermission::kAlreadySent);
  // Another sender, or another key: allowed.
  EXPECT_EQ(g.PermitFailureDsn(Dsn("bob@evil.example", 'k', "m3", 1300)).value(),
            DsnPermission::kAllowed);
  EXPECT_EQ(g.PermitFailureDsn(Dsn("eve@evil.example", 'j', "m4", 1400)).value(),
            DsnPermission::kAllowed);
}

TEST_P(GuardContract, FailureDsnsAreRateLimitedPerSenderDomain) {
  DecryptGuardOptions o;
  o.dsn_per_domain = 3;
  o.dsn_window = std::chrono::hours(1);
  Make(o);
  DecryptFailureGuard& g = *f_.guard;
  const int64_t t0 = 10'000'000;
  for (char k = 'a'; k < 'd'; ++k) {
    EXPECT_EQ(g.PermitFailureDsn(Dsn(std::string(1, k) + "@evil.example", k, "m", t0)).value(),
              DsnPermission::kAllowed);
  }
  EXPECT_EQ(g.PermitFailureDsn(Dsn("z@evil.example", 'z', "m", t0 + 1)).value(),
            DsnPermission::kRateLimited);
  EXPECT_EQ(g.PermitFailureDsn(Dsn("z@other.example", 'z', "m", t0 + 1)).value(),
            DsnPermission::kAllowed)
      << "another domain has its own budget";
  // The next window.
  EXPECT_EQ(g.PermitFailureDsn(Dsn("z@evil.example", 'z', "m", t0 + 3'600'001)).value(),
            DsnPermission::kAllowed);
}

TEST_P(GuardContract, MalformedRequestsAreRefused) {
  Make();
  ContentKeySighting bad = Sighting('k', 'a', 1);
  bad.content_key_digest = "short";
  EXPECT_EQ(f_.guard->ObserveContentKey(bad).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(f_.guard->PermitFailureDsn(Dsn("", 'k', "m", 1)).error().code,
            ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Both, GuardContract,
                         ::testing::Values(std::make_pair("store", Factory(Direct)),
                                           std::make_pair("grpc", Factory(OverGrpc))),
                         [](const auto& p) { return std::string(p.param.first); });

TEST(DecryptGuardStore, ForgetsAfterTheTtlAndStaysWithinMaxEntries) {
  DecryptGuardOptions o;
  o.ttl = std::chrono::hours(1);
  o.max_entries = 300;
  auto store = DecryptGuardStore::Open(o).value();
  EXPECT_EQ(store->ObserveContentKey(Sighting('k', 'a', 0)).value(), ContentKeyVerdict::kFirst);
  // Within the TTL the key is remembered; after it, it is a first sighting.
  EXPECT_EQ(store->ObserveContentKey(Sighting('k', 'b', 3'599'000)).value(),
            ContentKeyVerdict::kReplayed);
  EXPECT_EQ(store->ObserveContentKey(Sighting('k', 'b', 3'600'001)).value(),
            ContentKeyVerdict::kFirst);
  // Many keys: the store never keeps (much) more than max_entries.
  for (int i = 0; i < 2000; ++i) {
    std::string key(32, '\0');
    std::memcpy(key.data(), &i, sizeof(i));
    ASSERT_TRUE(store->ObserveContentKey({key, Digest('c'), "m", 4'000'000 + i}).ok());
    ASSERT_LE(store->entries(), o.max_entries + 1);
  }
}

TEST(DecryptGuardStore, RemembersAcrossRestarts) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("sg-guard-" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(dir);
  DecryptGuardOptions o;
  o.path = dir;
  {
    auto store = DecryptGuardStore::Open(o).value();
    ASSERT_EQ(store->ObserveContentKey(Sighting('k', 'a', 1000)).value(), ContentKeyVerdict::kFirst);
    ASSERT_EQ(store->PermitFailureDsn(Dsn("eve@evil.example", 'k', "m1", 1000)).value(),
              DsnPermission::kAllowed);
  }
  auto reopened = DecryptGuardStore::Open(o).value();
  EXPECT_EQ(reopened->ObserveContentKey(Sighting('k', 'b', 2000)).value(),
            ContentKeyVerdict::kReplayed);
  EXPECT_EQ(reopened->PermitFailureDsn(Dsn("eve@evil.example", 'k', "m2", 2000)).value(),
            DsnPermission::kAlreadySent);
  EXPECT_GE(reopened->entries(), 2u);
  reopened.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sg::keyservice
