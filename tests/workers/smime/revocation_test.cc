// Revocation checking (workers/smime/revocation_checker.h) against OpenSSL's
// own OCSP responder and a CRL served over HTTP, both on loopback: good,
// revoked, unknown, responder down (soft fail, hard fail per domain), the
// caches, the size limit, the address rule; and SmimeEngine::Verify with a
// revoked signer.
#include <gtest/gtest.h>


#include <atomic>
#include <filesystem>

#include "common/metrics.h"
#include "tests/support/fake_clock.h"
#include "tests/support/loopback.h"
#include "tests/support/test_pki.h"
#include "tests/workers/smime/revocation_test_pki.h"
#include "tests/workers/smime/smime_test_pki.h"
#include "workers/smime/revocation_checker.h"
#include "workers/smime/smime_engine.h"

namespace sg::smime::testing {
namespace {

using namespace std::chrono_literals;

// Counts the fetches that reach the network.
class CountingFetcher final : public HttpFetcher {
 public:
  explicit CountingFetcher(bool allow_private) : real_(allow_private) {}
  Result<std::string> Fetch(const HttpRequest& r) override {
    ++count;
    return real_.Fetch(r);
  }
  std::atomic<int> count{0};

 private:
  CurlHttpFetcher real_;
};

// The PKI and servers, once for the suite (key generation and process start).
struct Servers {
  std::string dir = MakeTempDir("revocation");
  PkeyPtr key = AdoptPkey(::sg::testing::MakeEcKey().release());
  int ocsp_port = FreeLoopbackPort();
  std::string ocsp_url = "http://127.0.0.1:" + std::to_string(ocsp_port) + "/";
  std::string down_url = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/";
  std::unique_ptr<ServerProcess> http;
  std::unique_ptr<ServerProcess> ocsp;
  std::string crl_url;
  X509Ptr good, revoked, unknown, down, crl_good, crl_revoked;

  Servers() {
    const TestIdentity& root = GetTestPki().root;
    std::filesystem::create_directories(dir + "/www");
    http = std::make_unique<ServerProcess>(
        std::vector<std::string>{"/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind",
                                 "127.0.0.1", "--directory", dir + "/www"},
        dir + "/http.log", R"(port (\d+))");
    crl_url = "http://127.0.0.1:" + std::to_string(http->port()) + "/root.crl";
    auto leaf = [&](const std::string& email, const std::string& o, const std::string& c) {
      return RevocationLeaf(email, root.cert.get(), root.key.get(), key.get(), o, c);
    };
    good = leaf("good@example.com", ocsp_url, "");
    revoked = leaf("revoked@example.com", ocsp_url, "");
    unknown = leaf("unknown@example.com", ocsp_url, "");
    down = leaf("down@example.com", down_url, "");
    crl_good = leaf("crlgood@example.com", "", crl_url);
    crl_revoked = leaf("crlrevoked@example.com", "", crl_url);
    WriteFile(dir + "/index.txt", IndexLine(good.get(), false) + IndexLine(revoked.get(), true));
    WriteFile(dir + "/www/root.crl",
              MakeCrlDer(root.cert.get(), root.key.get(), {crl_revoked.get()}, std::time(nullptr), 1h));
    ocsp = std::make_unique<ServerProcess>(
        std::vector<std::string>{"openssl", "ocsp", "-port", std::to_string(ocsp_port), "-index",
                                 dir + "/index.txt", "-CA", root.cert_path, "-rsigner",
                                 root.cert_path, "-rkey", root.key_path, "-nmin", "60"},
        dir + "/ocsp.log", R"(ACCEPT \S*:(\d+))");
  }
  ~Servers() {
    ocsp.reset();
    http.reset();
    RemoveTree(dir);
  }
  std::vector<X509Ptr> Chain(const X509Ptr& leaf) const { return {leaf, GetTestPki().root.cert}; }
};

class Revocation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { servers_ = new Servers(); }
  static void TearDownTestSuite() {
    delete servers_;
    servers_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(servers_->ocsp->port(), 0) << "openssl ocsp did not start";
    ASSERT_NE(servers_->http->port(), 0) << "python3 http.server did not start";
    config.allow_private_addresses = true;
    config.timeout = 2s;
  }
  std::unique_ptr<OnlineRevocationChecker> Checker() {
    return std::make_unique<OnlineRevocationChecker>(config, fetcher, &metrics, clock);
  }
  double Count(const std::string& family, const std::vector<std::string>& labels,
               const std::vector<std::string>& values) {
    return registry.AddCounter(family, "", labels).WithLabels(values).Value();
  }

  static Servers* servers_;
  RevocationConfig config;
  CountingFetcher fetcher{true};
  metrics::Registry registry;
  RevocationMetrics metrics{registry};
  ::sg::testing::FakeClock clock{std::chrono::system_clock::now()};
};
Servers* Revocation::servers_ = nullptr;

TEST_F(Revocation, OcspGoodIsCachedUntilItsLifetimeEnds) {
  config.max_cache_time = 10min;
  auto checker = Checker();
  RevocationVerdict v = checker->Check(servers_->Chain(servers_->good), "example.com");
  EXPECT_EQ(v.state, RevocationState::kGood) << v.detail;
  EXPECT_FALSE(v.fail);
  EXPECT_EQ(fetcher.count, 1);
  v = checker->Check(servers_->Chain(servers_->good), "example.com");
  EXPECT_EQ(v.state, RevocationState::kGood);
  EXPECT_EQ(fetcher.count, 1) << "the second answer comes from the cache";
  EXPECT_EQ(Count("smimegate_smime_revocation_cache_hits_total", {"source"}, {"ocsp"}), 1);
  EXPECT_EQ(Count("smimegate_smime_revocation_checks_total", {"result"}, {"good"}), 2);
  clock.Advance(11min);  // past max_cache_time (the response's nextUpdate is an hour)
  EXPECT_EQ(checker->Check(servers_->Chain(servers_->good), "example.com").state,
            RevocationState::kGood);
  EXPECT_EQ(fetcher.count, 2);
}

TEST_F(Revocation, OcspRevokedFailsWithTheReason) {
  RevocationVerdict v = Checker()->Check(servers_->Chain(servers_->revoked), "example.com");
  EXPECT_EQ(v.state, RevocationState::kRevoked);
  EXPECT_TRUE(v.fail);
  EXPECT_NE(v.detail.find("keyCompromise"), std::string::npos) << v.detail;
  EXPECT_NE(v.detail.find("OCSP"), std::string::npos) << v.detail;
  EXPECT_EQ(Count("smimegate_smime_revocation_checks_total", {"result"}, {"revoked"}), 1);
}

TEST_F(Revocation, OcspUnknownSoftFailsUnlessTheDomainIsHardFail) {
  RevocationVerdict v = Checker()->Check(servers_->Chain(servers_->unknown), "example.com");
  EXPECT_EQ(v.state, RevocationState::kUnknown) << v.detail;
  EXPECT_FALSE(v.fail) << "soft fail by default";
  EXPECT_EQ(Count("smimegate_smime_revocation_soft_failures_total", {}, {}), 1);
  config.hard_fail_domains = {"example.com"};
  v = Checker()->Check(servers_->Chain(servers_->unknown), "example.com");
  EXPECT_TRUE(v.fail);
  EXPECT_NE(v.detail.find("hard fail"), std::string::npos) << v.detail;
  EXPECT_FALSE(Checker()->Check(servers_->Chain(servers_->unknown), "example.org").fail)
      << "only the listed domain is hard-fail";
}

TEST_F(Revocation, ResponderDownSoftFailsAndIsNotAskedAgainUntilRetryAfter) {
  auto checker = Checker();
  RevocationVerdict v = checker->Check(servers_->Chain(servers_->down), "example.com");
  EXPECT_EQ(v.state, RevocationState::kError);
  EXPECT_FALSE(v.fail);
  EXPECT_EQ(fetcher.count, 1);
  v = checker->Check(servers_->Chain(servers_->down), "example.com");
  EXPECT_EQ(v.state, RevocationState::kError);
  EXPECT_EQ(fetcher.count, 1) << "a dead responder costs one timeout per retry_after";
  clock.Advance(config.retry_after + 1s);
  EXPECT_EQ(checker->Check(servers_->Chain(servers_->down), "example.com").state,
            RevocationState::kError);
  EXPECT_EQ(fetcher.count, 2);
  EXPECT_EQ(Count("smimegate_smime_revocation_checks_total", {"result"}, {"error"}), 3);

  config.hard_fail_domains = {"example.com"};
  EXPECT_TRUE(Checker()->Check(servers_->Chain(servers_->down), "example.com").fail);
}

TEST_F(Revocation, CrlListsTheRevokedSerialAndIsCached) {
  auto checker = Checker();
  RevocationVerdict v = checker->Check(servers_->Chain(servers_->crl_revoked), "example.com");
  EXPECT_EQ(v.state, RevocationState::kRevoked) << v.detail;
  EXPECT_TRUE(v.fail);
  EXPECT_NE(v.detail.find("CRL"), std::string::npos) << v.detail;
  EXPECT_NE(v.detail.find("keyCompromise"), std::string::npos) << v.detail;
  v = checker->Check(servers_->Chain(servers_->crl_good), "example.com");
  EXPECT_EQ(v.state, RevocationState::kGood) << v.detail;
  EXPECT_EQ(fetcher.count, 1) << "one download for both certificates";
  EXPECT_EQ(Count("smimegate_smime_revocation_cache_hits_total", {"source"}, {"crl"}), 1);
}

TEST_F(Revocation, CrlLargerThanTheLimitIsAnError) {
  config.max_crl_bytes = 64;
  RevocationVerdict v = Checker()->Check(servers_->Chain(servers_->crl_revoked), "example.com");
  EXPECT_EQ(v.state, RevocationState::kError);
  EXPECT_FALSE(v.fail);
  EXPECT_NE(v.detail.find("larger than 64 bytes"), std::string::npos) << v.detail;
}

TEST_F(Revocation, PrivateAddressesAreRefusedUnlessAllowed) {
  CountingFetcher strict(false);
  OnlineRevocationChecker checker(config, strict, &metrics, clock);
  RevocationVerdict v = checker.Check(servers_->Chain(servers_->revoked), "example.com");
  EXPECT_EQ(v.state, RevocationState::kError);
  EXPECT_NE(v.detail.find("not a public address"), std::string::npos) << v.detail;
}

TEST_F(Revocation, TheBudgetBoundsOneCheck) {
  config.timeout = 200ms;
  config.budget = 200ms;
  // A listener that never answers: the fetch waits until the timeout.
  ::sg::testing::LoopbackListenSocket mute_peer(4);
  ASSERT_TRUE(mute_peer.ok());
  const std::string silent = "http://127.0.0.1:" + std::to_string(mute_peer.port()) + "/";
  const TestIdentity& root = GetTestPki().root;
  X509Ptr leaf = RevocationLeaf("silent@example.com", root.cert.get(), root.key.get(),
                                servers_->key.get(), silent, "");
  const auto start = std::chrono::steady_clock::now();
  RevocationVerdict v = Checker()->Check({leaf, root.cert}, "example.com");
  const auto took = std::chrono::steady_clock::now() - start;
  mute_peer.Close();
  EXPECT_EQ(v.state, RevocationState::kError);
  EXPECT_LT(took, 2s) << "bounded by the timeout, not by the silent server";
}

TEST_F(Revocation, VerifyReportsARevokedSignerAsRevoked) {
  auto engine = SmimeEngine::Create();
  ASSERT_TRUE(engine.ok());
  SignerIdentity id{servers_->key, servers_->revoked, {}};
  auto signed_message = (*engine)->Sign(SampleMessage("revoked@example.com"), id);
  ASSERT_TRUE(signed_message.ok()) << signed_message.error().ToString();
  TrustStoreOptions options;
  options.anchors = {GetTestPki().root.cert};
  auto trust = TrustStore::Create(options);
  ASSERT_TRUE(trust.ok());
  auto checker = Checker();
  VerifyOptions vo;
  auto plain = (*engine)->Verify(*signed_message, *trust, std::time(nullptr), vo);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->status, VerifyStatus::kGood) << "without revocation checking: " << plain->detail;
  vo.revocation = checker.get();
  auto checked = (*engine)->Verify(*signed_message, *trust, std::time(nullptr), vo);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->status, VerifyStatus::kRevoked);
  EXPECT_NE(checked->detail.find("keyCompromise"), std::string::npos) << checked->detail;
}

}  // namespace
}  // namespace sg::smime::testing
