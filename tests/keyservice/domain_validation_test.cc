// Domain validation (keyservice/domain_validation.h) against a local DNS
// server (dnslib on loopback, tests/keyservice/dns_test_server.h) with a
// fake clock: record missing (pending, backoff, metric), record found
// (valid, date recorded), the yearly re-check, a changed or vanished record
// at the re-check (failed), DNS down at the re-check (valid until expiry),
// the pending timeout; and the TXT lookup itself (common/dns through
// keyservice/dns_txt.h).
#include "keyservice/domain_validation.h"

#include <gtest/gtest.h>

#include "tests/keyservice/dns_test_server.h"
#include "tests/support/fake_clock.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

constexpr const char* kRecord = "_smimegate-challenge.example.com";

class DomainValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dns_.ok()) << "dns_server.py did not start (python3-dnslib installed?)";
    auto store = KeyStore::Open((dir_.path() / "store").string());
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
    store::StoredDomain d;
    d.set_name("example.com");
    ASSERT_TRUE(store_->PutDomain(d).ok());
    config_.retry_initial = 1min;
    config_.retry_max = 8min;
    resolver_ = std::make_unique<CaresTxtResolver>(dns_.Options());
    validation_ = std::make_unique<DomainValidation>(*store_, *resolver_, clock_, config_, registry_);
  }

  store::StoredDomainValidation State() {
    return (*store_->GetDomain("example.com"))->validation();
  }
  double Checks(const std::string& result) {
    return registry_.AddCounter("smimegate_keyservice_domain_checks_total", "", {"result"})
        .WithLabels({result})
        .Value();
  }
  // Starts the validation and publishes its record; returns the record value.
  std::string StartAndPublish() {
    auto d = validation_->Start("example.com");
    EXPECT_TRUE(d.ok());
    std::string value = ChallengeRecordValue(d->validation().token());
    dns_.SetRecords({std::string(kRecord) + " TXT other text", std::string(kRecord) + " TXT " + value});
    return value;
  }
  // Advances to the next due check and runs it.
  void CheckAtNextDue() {
    clock_.Advance(std::chrono::seconds(State().next_check_at() - UnixSeconds(clock_.Now())));
    auto n = validation_->CheckDue();
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    ASSERT_EQ(*n, 1);
  }

  testing::TempDir dir_;
  testing::DnsTestServer dns_{dir_.path()};
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))};
  metrics::Registry registry_;
  DomainValidationConfig config_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<TxtResolver> resolver_;
  std::unique_ptr<DomainValidation> validation_;
};

TEST_F(DomainValidationTest, TheTxtLookupGoesThroughTheConfiguredServer) {
  dns_.SetRecords({"a.example.com TXT hello world", "a.example.com TXT second",
                   "b.example.com A 127.0.0.9"});
  auto found = resolver_->Lookup("a.example.com");
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  EXPECT_EQ(*found, (std::vector<std::string>{"hello world", "second"}));
  auto nodata = resolver_->Lookup("b.example.com");
  ASSERT_TRUE(nodata.ok()) << nodata.error().ToString();
  EXPECT_TRUE(nodata->empty());
  auto missing = resolver_->Lookup("c.example.com");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  // Nobody answers: a transient error, bounded by the timeout.
  dns::ResolverOptions dead = dns_.Options();
  dead.servers[0].port = 9;  // discard: nothing answers on loopback
  dead.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto down = CaresTxtResolver(dead).Lookup("a.example.com");
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error().code == ErrorCode::kTimeout ||
              down.error().code == ErrorCode::kUnavailable)
      << down.error().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(DomainValidationTest, StartMakesARandomTokenAndKeepsItWhileRunning) {
  auto a = validation_->Start("example.com");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->validation().state(), "pending");
  EXPECT_GE(a->validation().token().size(), 32u) << "at least 128 bits (hex)";
  EXPECT_EQ(ChallengeRecordName(config_, "example.com"), kRecord);
  auto again = validation_->Start("example.com");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->validation().token(), a->validation().token()) << "the record stays the same";
  auto unhosted = validation_->Start("elsewhere.example");
  ASSERT_FALSE(unhosted.ok());
  EXPECT_EQ(unhosted.error().code, ErrorCode::kNotFound);
  EXPECT_NE(unhosted.error().message.find("domain add elsewhere.example"), std::string::npos);
}

TEST_F(DomainValidationTest, AMissingRecordStaysPendingWithBoundedBackoff) {
  ASSERT_TRUE(validation_->Start("example.com").ok());
  auto none = validation_->CheckDue();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0) << "the first check waits retry_initial";
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) {
    CheckAtNextDue();
    auto v = State();
    EXPECT_EQ(v.state(), "pending");
    EXPECT_NE(v.reason().find("no TXT record " + std::string(kRecord)), std::string::npos) << v.reason();
    waits.push_back(v.next_check_at() - UnixSeconds(clock_.Now()));
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{60, 120, 240, 480, 480, 480})) << "doubling up to retry_max";
  EXPECT_EQ(Checks("missing"), 6);
  EXPECT_FALSE(validation_->IsValid("example.com"));
  EXPECT_GT(dns_.Queries(), 5);
}

TEST_F(DomainValidationTest, AFoundRecordMakesTheDomainValidAndRecordsTheDate) {
  StartAndPublish();
  CheckAtNextDue();
  auto v = State();
  EXPECT_EQ(v.state(), "valid");
  EXPECT_EQ(v.validated_at(), UnixSeconds(clock_.Now()));
  EXPECT_EQ(v.valid_until(), v.validated_at() + int64_t{365} * 86400);
  EXPECT_EQ(v.next_check_at(), v.validated_at() + int64_t{330} * 86400) << "re-checked before a year";
  EXPECT_TRUE(validation_->IsValid("example.com"));
  EXPECT_EQ(Checks("found"), 1);
}

TEST_F(DomainValidationTest, TheYearlyRecheckRenewsAValidation) {
  StartAndPublish();
  CheckAtNextDue();
  int64_t first = State().validated_at();
  int queries = dns_.Queries();
  clock_.Advance(329 * 24h);
  EXPECT_EQ(*validation_->CheckDue(), 0) << "not due yet";
  EXPECT_EQ(dns_.Queries(), queries);
  clock_.Advance(24h);
  EXPECT_EQ(*validation_->CheckDue(), 1);
  EXPECT_EQ(dns_.Queries(), queries + 1) << "the re-check asks DNS";
  auto v = State();
  EXPECT_EQ(v.state(), "valid");
  EXPECT_EQ(v.validated_at(), first + int64_t{330} * 86400);
  EXPECT_EQ(v.valid_until(), v.validated_at() + int64_t{365} * 86400);
}

TEST_F(DomainValidationTest, AChangedRecordAtTheRecheckMakesTheDomainInvalid) {
  StartAndPublish();
  CheckAtNextDue();
  dns_.SetRecords({std::string(kRecord) + " TXT smimegate-domain-validation=someone-else"});
  clock_.Advance(330 * 24h);
  ASSERT_EQ(*validation_->CheckDue(), 1);
  auto v = State();
  EXPECT_EQ(v.state(), "failed");
  EXPECT_NE(v.reason().find("has changed"), std::string::npos) << v.reason();
  EXPECT_FALSE(validation_->IsValid("example.com"));
  EXPECT_EQ(Checks("changed"), 1);
  clock_.Advance(30 * 24h);
  EXPECT_EQ(*validation_->CheckDue(), 0) << "a failed domain waits for a new `domain validate`";
  auto restarted = validation_->Start("example.com");
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ(restarted->validation().state(), "pending");
}

TEST_F(DomainValidationTest, AVanishedRecordAtTheRecheckMakesTheDomainInvalid) {
  StartAndPublish();
  CheckAtNextDue();
  dns_.SetRecords({});
  clock_.Advance(330 * 24h);
  ASSERT_EQ(*validation_->CheckDue(), 1);
  EXPECT_EQ(State().state(), "failed");
  EXPECT_NE(State().reason().find("vanished"), std::string::npos) << State().reason();
}

TEST_F(DomainValidationTest, DnsDownAtTheRecheckKeepsTheValidationUntilItExpires) {
  // A resolver pointed at a port where nothing answers.
  dns::ResolverOptions dead = dns_.Options();
  dead.servers[0].port = 9;
  dead.timeout = 200ms;
  CaresTxtResolver down(dead);
  StartAndPublish();
  CheckAtNextDue();
  DomainValidation offline(*store_, down, clock_, config_, registry_);
  clock_.Advance(330 * 24h);
  ASSERT_EQ(*offline.CheckDue(), 1);
  EXPECT_EQ(State().state(), "valid") << "a DNS error is no proof of a change";
  EXPECT_NE(State().reason().find("DNS"), std::string::npos);
  EXPECT_EQ(State().next_check_at() - UnixSeconds(clock_.Now()), 60) << "retried with backoff";
  EXPECT_TRUE(offline.IsValid("example.com"));
  clock_.Advance(36 * 24h);  // past valid_until
  EXPECT_FALSE(offline.IsValid("example.com"));
  ASSERT_EQ(*offline.CheckDue(), 1);
  EXPECT_EQ(State().state(), "failed");
  EXPECT_NE(State().reason().find("expired"), std::string::npos) << State().reason();
  EXPECT_GE(Checks("dns_error"), 2);
}

TEST_F(DomainValidationTest, ARecordNeverPublishedFailsAfterThePendingTimeout) {
  ASSERT_TRUE(validation_->Start("example.com").ok());
  clock_.Advance(7 * 24h + 1h);
  ASSERT_EQ(*validation_->CheckDue(), 1);
  EXPECT_EQ(State().state(), "failed");
  EXPECT_NE(State().reason().find("pending timeout"), std::string::npos) << State().reason();
}

}  // namespace
}  // namespace sg::keyservice
