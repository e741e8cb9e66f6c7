// MTA-STS (RFC 8461) without network: the TXT record and policy parsers
// (table-driven), the MX pattern match, the persisted cache, and the
// look-up's decisions (cached id, id change, max_age expiry, fetch failure
// with and without a cached policy) with a fake resolver, fetcher and clock.
#include "egress/egress_mta_sts.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "egress/egress_mta_sts_fetch.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace sg::egress {
namespace {

const char* kPolicy =
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.net\r\n"
    "max_age: 86400\r\n";

TEST(MtaStsPolicyTest, ParsesAWellFormedPolicy) {
  auto p = ParseStsPolicy(kPolicy);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->mode, StsMode::kEnforce);
  EXPECT_EQ(p->max_age_s, 86400);
  ASSERT_EQ(p->mx.size(), 2u);
  auto lf = ParseStsPolicy("version: STSv1\nmode: testing\nmx: a.b\nmax_age: 5\nfoo: bar\n");
  ASSERT_TRUE(lf.ok()) << lf.error().message;
  EXPECT_EQ(lf->mode, StsMode::kTesting);
}

TEST(MtaStsPolicyTest, RefusesMalformedPolicies) {
  for (const char* bad : {
           "mode: enforce\nmx: a.b\nmax_age: 5\n",                   // no version
           "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 5\n",   // wrong version
           "version: STSv1\nmode: strict\nmx: a.b\nmax_age: 5\n",    // unknown mode
           "version: STSv1\nmode: enforce\nmx: a.b\n",               // no max_age
           "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n",  // negative
           "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1x\n",  // not a number
           "version: STSv1\nmode: enforce\nmax_age: 5\n",            // no mx
           "version: STSv1\nmode enforce\nmx: a.b\nmax_age: 5\n",    // no colon
       }) {
    EXPECT_FALSE(ParseStsPolicy(bad).ok()) << bad;
  }
  auto none = ParseStsPolicy("version: STSv1\nmode: none\nmax_age: 5\n");
  EXPECT_TRUE(none.ok());  // mode none needs no mx
  auto capped = ParseStsPolicy("version: STSv1\nmode: none\nmax_age: 99999999\n");
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->max_age_s, 31557600);
}

TEST(MtaStsPolicyTest, MxPatternsMatchExactlyOrOneLeftMostLabel) {
  struct Case {
    const char* pattern;
    const char* host;
    bool match;
  };
  for (const Case& c : std::vector<Case>{
           {"mx1.example.com", "mx1.example.com", true},
           {"mx1.example.com", "MX1.Example.COM.", true},
           {"mx1.example.com", "mx2.example.com", false},
           {"*.example.com", "mx.example.com", true},
           {"*.example.com", "a.mx.example.com", false},  // one label only
           {"*.example.com", "example.com", false},
           {"*.example.com", "mxexample.com", false},
       }) {
    EXPECT_EQ(StsMxMatches(c.pattern, c.host), c.match) << c.pattern << " " << c.host;
  }
}

TEST(MtaStsPolicyTest, TxtRecordGivesTheId) {
  auto id = ParseStsTxt({"v=spf1 -all", "v=STSv1; id=20160831085700Z;"});
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, "20160831085700Z");
  EXPECT_EQ(ParseStsTxt({"v=spf1 -all"}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ParseStsTxt({"v=STSv1; id=a", "v=STSv1; id=b"}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseStsTxt({"v=STSv1; id=bad-id"}).ok());
  EXPECT_FALSE(ParseStsTxt({"v=STSv1;"}).ok());
}

TEST(MtaStsCacheTest, APersistedPolicySurvivesARestart) {
  testing::TempDir dir;
  const std::string path = dir.Sub("sts");
  {
    StsCache cache(path);
    StsCacheEntry e{"id1", kPolicy, *ParseStsPolicy(kPolicy), 1234};
    ASSERT_TRUE(cache.Persist("example.com", e).ok());
    cache.Put("example.com", e);
    EXPECT_FALSE(cache.Persist("../evil", e).ok());
  }
  std::ofstream(path + "/broken.example") << "id\nnot a number\nversion: STSv1\n";
  StsCache again(path);
  auto e = again.Lookup("example.com");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id, "id1");
  EXPECT_EQ(e->fetched_ms, 1234);
  EXPECT_EQ(e->policy.mode, StsMode::kEnforce);
  EXPECT_FALSE(again.Lookup("broken.example").has_value());
}

// TXT answers by name; every look-up counted.
class FakeResolver final : public Resolver {
 public:
  void ResolveMx(const std::string&, MxCallback done) override { done(std::vector<MxRecord>{}); }
  void ResolveAddress(const std::string&, uint16_t, AddrCallback done) override {
    done(MakeError(ErrorCode::kUnavailable, "no"));
  }
  void ResolveTxt(const std::string& name, TxtCallback done) override {
    auto it = txt.find(name);
    if (it == txt.end()) {
      done(MakeError(ErrorCode::kNotFound, name));
    } else {
      done(it->second);
    }
  }
  std::map<std::string, std::vector<std::string>> txt;
};

class FakeFetcher final : public StsFetcher {
 public:
  void Fetch(const std::string& domain, Done done) override {
    ++fetches;
    last_domain = domain;
    done(answer);
  }
  Result<std::string> answer = std::string(kPolicy);
  int fetches = 0;
  std::string last_domain;
};

class MtaStsLookupTest : public ::testing::Test {
 protected:
  StsLookup Lookup() {
    StsLookup out;
    bool called = false;
    sts_.PolicyFor("example.com", [&](StsLookup l) {
      out = std::move(l);
      called = true;
    });
    EXPECT_TRUE(called);
    return out;
  }
  void SetTxt(const std::string& id) {
    resolver_.txt["_mta-sts.example.com"] = {"v=STSv1; id=" + id};
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  metrics::Registry registry_;
  EgressMetrics metrics_{registry_};
  FakeResolver resolver_;
  FakeFetcher fetcher_;
  StsCache cache_{dir_.Sub("sts")};
  MtaSts sts_{resolver_, fetcher_, cache_, clock_, metrics_};
};

TEST_F(MtaStsLookupTest, NoTxtRecordMeansNoPolicyAndNoFetch) {
  EXPECT_EQ(Lookup().policy, nullptr);
  EXPECT_EQ(fetcher_.fetches, 0);
}

TEST_F(MtaStsLookupTest, FetchesOnceThenUsesTheCacheWhileTheIdIsTheSame) {
  SetTxt("one");
  auto first = Lookup();
  ASSERT_NE(first.policy, nullptr);
  EXPECT_EQ(first.policy->mode, StsMode::kEnforce);
  EXPECT_EQ(fetcher_.last_domain, "example.com");
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("sts/example.com")));
  ASSERT_NE(Lookup().policy, nullptr);
  EXPECT_EQ(fetcher_.fetches, 1);
}

TEST_F(MtaStsLookupTest, ATxtIdChangeRefreshesThePolicy) {
  SetTxt("one");
  ASSERT_NE(Lookup().policy, nullptr);
  fetcher_.answer = std::string("version: STSv1\nmode: testing\nmx: a.b\nmax_age: 600\n");
  SetTxt("two");
  auto l = Lookup();
  EXPECT_EQ(fetcher_.fetches, 2);
  ASSERT_NE(l.policy, nullptr);
  EXPECT_EQ(l.policy->mode, StsMode::kTesting);
  EXPECT_EQ(cache_.Lookup("example.com")->id, "two");
}

TEST_F(MtaStsLookupTest, MaxAgeExpiryFetchesAgainWithTheSameId) {
  SetTxt("one");
  ASSERT_NE(Lookup().policy, nullptr);
  clock_.Advance(std::chrono::seconds(86400 - 1));
  ASSERT_NE(Lookup().policy, nullptr);
  EXPECT_EQ(fetcher_.fetches, 1);
  clock_.Advance(std::chrono::seconds(2));
  ASSERT_NE(Lookup().policy, nullptr);
  EXPECT_EQ(fetcher_.fetches, 2);
}

TEST_F(MtaStsLookupTest, AFailedRefreshKeepsTheCachedPolicyUntilItExpires) {
  SetTxt("one");
  ASSERT_NE(Lookup().policy, nullptr);
  SetTxt("two");
  fetcher_.answer = MakeError(ErrorCode::kUnavailable, "connection refused");
  auto l = Lookup();
  ASSERT_NE(l.policy, nullptr);  // still the cached enforce policy
  EXPECT_EQ(l.policy->mode, StsMode::kEnforce);
  EXPECT_EQ(l.failure, "sts-policy-fetch-error");
  resolver_.txt.clear();  // an attacker strips the TXT record: the cache still holds
  ASSERT_NE(Lookup().policy, nullptr);
  clock_.Advance(std::chrono::seconds(86400));
  SetTxt("two");
  auto expired = Lookup();
  EXPECT_EQ(expired.policy, nullptr);
  EXPECT_EQ(expired.failure, "sts-policy-fetch-error");
}

TEST_F(MtaStsLookupTest, AnInvalidPolicyIsNotUsedAndCounted) {
  SetTxt("one");
  fetcher_.answer = std::string("version: STSv1\nmode: enforce\n");
  auto l = Lookup();
  EXPECT_EQ(l.policy, nullptr);
  EXPECT_EQ(l.failure, "sts-policy-invalid");
  fetcher_.answer = MakeError(ErrorCode::kUnavailable, "x: TLS peer verification failed: y");
  EXPECT_EQ(Lookup().failure, "sts-webpki-invalid");
}

TEST_F(MtaStsLookupTest, ModeNoneIsNoPolicy) {
  SetTxt("one");
  fetcher_.answer = std::string("version: STSv1\nmode: none\nmax_age: 600\n");
  EXPECT_EQ(Lookup().policy, nullptr);
  EXPECT_EQ(Lookup().policy, nullptr);
  EXPECT_EQ(fetcher_.fetches, 1);  // cached all the same
}

// mta-sts.<domain> is a name the recipient's domain controls: an address
// that egress would refuse for an MX host (here private and loopback, the
// route allowing none) is never fetched from, so the policy request cannot
// be pointed at an internal service.
class InternalAddressResolver final : public Resolver {
 public:
  void ResolveMx(const std::string&, MxCallback done) override { done(std::vector<MxRecord>{}); }
  void ResolveAddress(const std::string& host, uint16_t port, AddrCallback done) override {
    asked = host;
    std::vector<sockaddr_storage> out;
    for (const char* ip : {"10.1.2.3", "127.0.0.1"}) {
      sockaddr_storage ss{};
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      inet_pton(AF_INET, ip, &sin->sin_addr);
      out.push_back(ss);
    }
    done(out);
  }
  std::string asked;
};

TEST(MtaStsFetchTest, APolicyHostOnAnInternalAddressIsNotFetched) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  InternalAddressResolver resolver;
  MtaStsConfig config;
  config.fetch_timeout = std::chrono::milliseconds(500);
  const DestinationPolicy destinations({});
  RouteConfig route;
  route.config_path = "egress.outbound";  // no allowed_networks
  std::optional<Result<std::string>> got;
  {
    HttpsStsFetcher fetcher(&loop, resolver, config, destinations, route);
    fetcher.Fetch("example.com", [&](Result<std::string> r) { got = std::move(r); });
    fetcher.Shutdown();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  EXPECT_EQ(resolver.asked, "mta-sts.example.com");
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(got->error().message.find("mta-sts.example.com: not fetching"), std::string::npos)
      << got->error().message;
  EXPECT_NE(got->error().message.find("egress.outbound.allowed_networks"), std::string::npos)
      << got->error().message;
}

// Answers every name with 127.0.0.1 (the route allows loopback here).
class LoopbackResolver final : public Resolver {
 public:
  void ResolveMx(const std::string&, MxCallback done) override { done(std::vector<MxRecord>{}); }
  void ResolveAddress(const std::string&, uint16_t port, AddrCallback done) override {
    sockaddr_storage ss{};
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
    done(std::vector<sockaddr_storage>{ss});
  }
};

// Shutdown while one fetch is in progress (a peer that accepts the
// connection and never answers) and two wait: every callback runs once,
// cancelled, and a fetch asked for afterwards is cancelled at once.
TEST(MtaStsFetchTest, ShutdownCancelsTheFetchInProgressAndEveryWaitingOne) {
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(silent, 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  LoopbackResolver resolver;
  MtaStsConfig config;
  config.fetch_timeout = std::chrono::seconds(1);
  config.https_port = ntohs(addr.sin_port);
  const DestinationPolicy destinations({});
  RouteConfig route;
  route.config_path = "egress.outbound";
  route.allowed_networks = {*ParseNetwork("127.0.0.0/8")};
  std::vector<Result<std::string>> got;
  {
    HttpsStsFetcher fetcher(&loop, resolver, config, destinations, route);
    for (const char* domain : {"one.test", "two.test", "three.test"}) {
      fetcher.Fetch(domain, [&](Result<std::string> r) { got.push_back(std::move(r)); });
    }
    pollfd connecting{silent, POLLIN, 0};
    ASSERT_EQ(poll(&connecting, 1, 5000), 1);  // the first fetch is under way
    fetcher.Shutdown();
    EXPECT_EQ(got.size(), 3u);
    fetcher.Fetch("four.test", [&](Result<std::string> r) { got.push_back(std::move(r)); });
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  close(silent);
  ASSERT_EQ(got.size(), 4u);
  for (const auto& r : got) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
    EXPECT_EQ(r.error().message, "egress is shutting down");
  }
}

}  // namespace
}  // namespace sg::egress
