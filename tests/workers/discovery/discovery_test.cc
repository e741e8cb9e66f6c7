// Certificate discovery (workers/discovery/certificate_discovery.h) over
// SMIMEA: found only from validated answers, candidates only through the
// harvest check, not found / not validated / untrusted / timeout all end as
// "none", never a stuck lookup (max_wait), and cached both ways.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/dns/tlsa_record.h"
#include "tests/support/dns_test_server.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_key_service.h"
#include "tests/support/temp_dir.h"
#include "tests/support/thread_gate.h"
#include "tests/support/test_pki.h"
#include "workers/discovery/certificate_discovery.h"
#include "workers/discovery/discovery_config.h"
#include "workers/discovery/discovery_smimea.h"

namespace sg::workers {
namespace {

using State = DiscoveryStatus::State;
constexpr std::string_view kBob = "bob@partner.test";

std::string Hex(const std::string& bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0x0f];
  }
  return out;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dns_.ok());
    auto key = ::sg::testing::MakeEcKey();
    ::sg::testing::CertSpec spec;
    spec.subject = {{"CN", "bob"}};
    spec.not_before = std::chrono::system_clock::now();
    spec.not_after = spec.not_before + std::chrono::hours(24);
    der_ = ::sg::testing::CertDer(::sg::testing::IssueCert(spec, key.get()).get());
    name_ = dns::SmimeaOwnerName("bob", "partner.test");
  }

  void Start(std::chrono::milliseconds dns_timeout = std::chrono::seconds(2)) {
    auto options = dns_.Options();
    options.trust_ad = true;
    options.timeout = dns_timeout;
    std::vector<std::unique_ptr<CertificateSource>> sources;
    sources.push_back(std::make_unique<SmimeaSource>(options));
    discovery_ = std::make_unique<CertificateDiscovery>(options_, std::move(sources), keys_,
                                                        metrics_, clock_);
  }

  // Asks until the answer is no longer pending (the pool works in real time;
  // the fake clock stands still, so no deadline passes meanwhile).
  DiscoveryStatus Settle(std::string_view address = kBob) {
    DiscoveryStatus s;
    for (int i = 0; i < 1000; ++i) {
      s = discovery_->Lookup(std::string(address));
      if (s.state != State::kPending) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a real DNS round trip
    }
    return s;
  }

  double Lookups(const std::string& result) {
    return registry_.AddCounter("smimegate_discovery_lookups_total", "", {"source", "result"})
        .WithLabels({"smimea", result})
        .Value();
  }

  ::sg::testing::TempDir dir_;
  ::sg::testing::DnsTestServer dns_{dir_.Sub("dns")};
  ::sg::testing::FakeKeyService keys_;
  ::sg::testing::FakeClock clock_;
  metrics::Registry registry_;
  DiscoveryMetrics metrics_{registry_};
  DiscoveryOptions options_;
  std::unique_ptr<CertificateDiscovery> discovery_;
  std::string der_;
  std::string name_;
};

TEST_F(DiscoveryTest, ValidatedSmimeaRecordIsFoundAndHarvested) {
  dns_.SetRecords({"!ad", name_ + " SMIMEA 3 0 0 " + Hex(der_)});
  Start();
  EXPECT_EQ(discovery_->Lookup(std::string(kBob)).state, State::kPending);
  DiscoveryStatus s = Settle();
  ASSERT_EQ(s.state, State::kFound);
  EXPECT_EQ(s.certificate_der, der_);
  // Through the same check as a harvested certificate, for this address.
  ASSERT_EQ(keys_.harvested().size(), 1u);
  EXPECT_EQ(keys_.harvested()[0].address, kBob);
  EXPECT_EQ(keys_.harvested()[0].certificate_der, der_);
  EXPECT_EQ(Lookups("found"), 1);
}

TEST_F(DiscoveryTest, PkixEeUsageIsACandidateToo) {
  dns_.SetRecords({"!ad", name_ + " SMIMEA 1 0 0 " + Hex(der_)});
  Start();
  EXPECT_EQ(Settle().state, State::kFound);
}

TEST_F(DiscoveryTest, AnswerWithoutValidationIsIgnored) {
  dns_.SetRecords({name_ + " SMIMEA 3 0 0 " + Hex(der_)});  // AD clear
  Start();
  EXPECT_EQ(Settle().state, State::kNone);
  EXPECT_TRUE(keys_.harvested().empty());
  EXPECT_EQ(Lookups("not_validated"), 1);
}

TEST_F(DiscoveryTest, UntrustedOrRejectedCertificateIsIgnored) {
  dns_.SetRecords({"!ad", name_ + " SMIMEA 3 0 0 " + Hex(der_)});
  keys_.harvest_outcome = keyservice::HarvestOutcome::kPending;  // no chain to a trusted root
  Start();
  EXPECT_EQ(Settle().state, State::kNone);
  EXPECT_EQ(keys_.harvested().size(), 1u);
  EXPECT_EQ(Lookups("rejected"), 1);
}

TEST_F(DiscoveryTest, DigestOnlyAndTrustAnchorRecordsFindNothing) {
  dns_.SetRecords({"!ad", name_ + " SMIMEA 3 0 1 " + Hex(std::string(32, 'x')),
                   name_ + " SMIMEA 2 0 0 " + Hex(der_)});
  Start();
  EXPECT_EQ(Settle().state, State::kNone);
  EXPECT_TRUE(keys_.harvested().empty());
  EXPECT_EQ(Lookups("no_certificate"), 1);
}

// RFC 8162 section 3: the local-part is hashed as written (RCPT TO), not
// as the gateway normalises it; the domain is the normalised one.
TEST_F(DiscoveryTest, LocalPartIsHashedAsWritten) {
  const std::string written = dns::SmimeaOwnerName("Dave", "partner.test");
  dns_.SetRecords({"!ad", written + " SMIMEA 3 0 0 " + Hex(der_)});
  Start();
  EXPECT_EQ(discovery_->Lookup("dave@partner.test", "Dave@Partner.Test").state, State::kPending);
  DiscoveryStatus s = Settle("dave@partner.test");
  ASSERT_EQ(s.state, State::kFound);
  ASSERT_EQ(keys_.harvested().size(), 1u);
  EXPECT_EQ(keys_.harvested()[0].address, "dave@partner.test") << "matched as the identity";
  EXPECT_EQ(dns_.Queries(), 1) << "found as written: no second form asked";
}

// A domain that publishes only the lower-case form is still found: after
// the written form, the lower-cased one; a lower-case local-part is one query.
TEST_F(DiscoveryTest, LowerCaseIsAskedWhenTheWrittenFormHasNoRecord) {
  dns_.SetRecords(
      {"!ad", dns::SmimeaOwnerName("dave", "partner.test") + " SMIMEA 3 0 0 " + Hex(der_)});
  Start();
  EXPECT_EQ(discovery_->Lookup("dave@partner.test", "Dave@partner.test").state, State::kPending);
  EXPECT_EQ(Settle("dave@partner.test").state, State::kFound);
  const std::vector<std::string> log = dns_.QueryLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].rfind(dns::SmimeaOwnerName("Dave", "partner.test"), 0), 0u) << log[0];
  EXPECT_EQ(log[1].rfind(dns::SmimeaOwnerName("dave", "partner.test"), 0), 0u) << log[1];

  EXPECT_EQ(Settle("erin@partner.test").state, State::kNone);  // lower case, not found
  EXPECT_EQ(dns_.Queries(), 3) << "a lower-case local-part is asked once";
}

TEST_F(DiscoveryTest, NxdomainAndNodataAreNotFound) {
  dns_.SetRecords({"!ad", "carol._smimecert.partner.test TXT x",
                   dns::SmimeaOwnerName("carol", "partner.test") + " TXT not smimea"});
  Start();
  EXPECT_EQ(Settle().state, State::kNone);                      // NXDOMAIN
  EXPECT_EQ(Settle("carol@partner.test").state, State::kNone);  // NODATA
  EXPECT_EQ(Lookups("not_found"), 2);
}

TEST_F(DiscoveryTest, SilentResolverTimesOutAsNone) {
  dns_.SetRecords({name_ + " DROP"});
  Start(std::chrono::milliseconds(200));
  EXPECT_EQ(Settle().state, State::kNone);
  EXPECT_EQ(Lookups("timeout"), 1);
}

TEST_F(DiscoveryTest, MessageStopsWaitingAtMaxWait) {
  dns_.SetRecords({name_ + " DROP"});
  options_.max_wait = std::chrono::seconds(10);
  options_.retry = std::chrono::seconds(2);
  Start(std::chrono::seconds(1));  // the lookup itself takes longer than this test looks
  DiscoveryStatus first = discovery_->Lookup(std::string(kBob));
  ASSERT_EQ(first.state, State::kPending);
  EXPECT_EQ(first.retry_at_ms, clock_.NowMs() + 2000);
  clock_.Advance(std::chrono::seconds(9));
  DiscoveryStatus later = discovery_->Lookup(std::string(kBob));
  ASSERT_EQ(later.state, State::kPending);
  EXPECT_EQ(later.retry_at_ms, clock_.NowMs() + 1000);  // not past the deadline
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(discovery_->Lookup(std::string(kBob)).state, State::kNone);
}

TEST_F(DiscoveryTest, ResultsAreCachedForTheirTtl) {
  dns_.SetRecords({"!ad"});
  options_.not_found_ttl = std::chrono::minutes(30);
  Start();
  EXPECT_EQ(Settle().state, State::kNone);
  const int queries = dns_.Queries();
  EXPECT_EQ(discovery_->Lookup(std::string(kBob)).state, State::kNone);
  EXPECT_EQ(dns_.Queries(), queries);  // negative cache
  // The record appears; the cached "none" holds until its TTL passes.
  dns_.SetRecords({"!ad", name_ + " SMIMEA 3 0 0 " + Hex(der_)});
  clock_.Advance(std::chrono::minutes(29));
  EXPECT_EQ(discovery_->Lookup(std::string(kBob)).state, State::kNone);
  clock_.Advance(std::chrono::minutes(2));
  EXPECT_EQ(Settle().state, State::kFound);
  const int after = dns_.Queries();
  EXPECT_EQ(discovery_->Lookup(std::string(kBob)).state, State::kFound);  // positive cache
  EXPECT_EQ(dns_.Queries(), after);
}

TEST_F(DiscoveryTest, FullQueueAnswersNone) {
  dns_.SetRecords({"!ad"});
  options_.queue_limit = 0;
  Start();
  EXPECT_EQ(discovery_->Lookup(std::string(kBob)).state, State::kNone);
}

// A source whose lookups wait at a gate until the test opens it.
class GatedSource : public CertificateSource {
 public:
  std::string_view Name() const override { return "gated"; }
  SourceAnswer Find(const std::string& /*address*/) override {
    gate.Pass();
    return SourceAnswer{"not_found", {}, ""};
  }
  ::sg::testing::ThreadGate gate;
};

TEST_F(DiscoveryTest, QueueLimitCountsWaitingLookupsNotRunningOnes) {
  options_.threads = 1;
  options_.queue_limit = 1;
  auto gated = std::make_unique<GatedSource>();
  GatedSource* source = gated.get();
  std::vector<std::unique_ptr<CertificateSource>> sources;
  sources.push_back(std::move(gated));
  discovery_ = std::make_unique<CertificateDiscovery>(options_, std::move(sources), keys_,
                                                      metrics_, clock_);
  auto overloaded = [this] {
    return registry_.AddCounter("smimegate_discovery_recipients_total", "", {"outcome"})
        .WithLabels({"overloaded"})
        .Value();
  };
  EXPECT_EQ(discovery_->Lookup("a@partner.test").state, State::kPending);
  source->gate.AwaitArrived(1);  // running: not counted against the limit
  EXPECT_EQ(discovery_->Lookup("b@partner.test").state, State::kPending);  // waits
  EXPECT_EQ(discovery_->Lookup("c@partner.test").state, State::kNone);     // full
  EXPECT_EQ(overloaded(), 1);
  source->gate.Open();
  // Both accepted lookups run; the refused one is not remembered as pending.
  EXPECT_EQ(Settle("a@partner.test").state, State::kNone);
  EXPECT_EQ(Settle("b@partner.test").state, State::kNone);
  EXPECT_EQ(source->gate.Arrived(), 2);
  EXPECT_EQ(discovery_->Lookup("c@partner.test").state, State::kPending);
}

}  // namespace
}  // namespace sg::workers

namespace sg::workers {
namespace {

Result<DiscoveryConfig> ParseYaml(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  return ParseDiscoveryConfig(doc->Root());
}

TEST(DiscoveryConfig, OffByDefaultAndTrustsOnlyListedServers) {
  auto c = ParseYaml("{}");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_FALSE(c->enabled);
  c = ParseYaml("{enabled: true, dns: {servers: ['127.0.0.1:5353', '[::1]']}}");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  ASSERT_EQ(c->dns.servers.size(), 2u);
  EXPECT_EQ(c->dns.servers[0].port, 5353);
  EXPECT_EQ(c->dns.servers[1].host, "::1");
  EXPECT_TRUE(c->dns.trust_ad);
}

TEST(DiscoveryConfig, SmimeaWithoutAResolverIsRefused) {
  auto c = ParseYaml("{enabled: true}");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("unbound"), std::string::npos) << c.error().message;
  c = ParseYaml("{enabled: true, dns: {servers: [resolver.example]}}");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("not an IP address"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace sg::workers
