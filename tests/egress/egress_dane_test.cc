// DANE TLSA (RFC 7672) without network: the decision for each kind of
// answer (table-driven: failed, insecure, secure NXDOMAIN/NODATA, usable and
// unusable records), the look-up's order (A, AAAA, TLSA at the CNAME-expanded
// name, then at the MX host name) and caching (by TTL, negative
// answers too, failures not, capped by max_ttl and cache_entries) with a
// fake resolver and clock. The egress.dane keys: egress_config_test.cc.
#include "egress/egress_dane.h"

#include <gtest/gtest.h>

#include <map>
#include <utility>

#include "common/dns/dns_answer.h"
#include "tests/support/fake_clock.h"

namespace sg::egress {
namespace {

using dns::AuthenticatedAnswer;

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;

// Wire RDATA of a TLSA record with `n` octets of association data.
std::string Tlsa(uint8_t usage, uint8_t selector, uint8_t mtype, size_t n = 32) {
  std::string r{static_cast<char>(usage), static_cast<char>(selector), static_cast<char>(mtype)};
  r.append(n, '\x5a');
  return r;
}

AuthenticatedAnswer Answer(bool authenticated, std::vector<std::string> rdata, uint32_t ttl = 300,
                           bool exists = true) {
  AuthenticatedAnswer a;
  a.authenticated = authenticated;
  a.name_exists = exists;
  a.ttl = ttl;
  a.rdata = std::move(rdata);
  return a;
}

// A validated A record set (127.0.0.2).
AuthenticatedAnswer SecureA() { return Answer(true, {std::string("\x7f\0\0\x02", 4)}); }

TEST(DaneDecisionTest, EachKindOfAnswerHasItsOutcome) {
  struct Case {
    const char* what;
    Result<AuthenticatedAnswer> address;
    Result<AuthenticatedAnswer> tlsa;
    DaneOutcome outcome;
    size_t records;
  };
  const std::vector<Case> cases{
      {"address SERVFAIL", MakeError(ErrorCode::kUnavailable, "SERVFAIL"), SecureA(),
       DaneOutcome::kBogus, 0},
      {"address timeout", MakeError(ErrorCode::kTimeout, "t"), SecureA(), DaneOutcome::kBogus, 0},
      {"address insecure", Answer(false, {"x"}), Answer(true, {Tlsa(3, 1, 1)}), DaneOutcome::kNone,
       0},
      {"address NXDOMAIN", Answer(true, {}, 60, false), Answer(true, {Tlsa(3, 1, 1)}),
       DaneOutcome::kNone, 0},
      {"TLSA SERVFAIL", SecureA(), MakeError(ErrorCode::kUnavailable, "SERVFAIL"),
       DaneOutcome::kBogus, 0},
      {"TLSA malformed", SecureA(), MakeError(ErrorCode::kCorruption, "junk"), DaneOutcome::kBogus,
       0},
      {"TLSA cancelled", SecureA(), MakeError(ErrorCode::kCancelled, "stop"), DaneOutcome::kNone,
       0},
      {"TLSA insecure", SecureA(), Answer(false, {Tlsa(3, 1, 1)}), DaneOutcome::kNone, 0},
      {"TLSA NODATA", SecureA(), Answer(true, {}), DaneOutcome::kNone, 0},
      {"TLSA NXDOMAIN", SecureA(), Answer(true, {}, 60, false), DaneOutcome::kNone, 0},
      {"3 1 1", SecureA(), Answer(true, {Tlsa(3, 1, 1)}), DaneOutcome::kDane, 1},
      {"2 0 2 and 3 0 0", SecureA(), Answer(true, {Tlsa(2, 0, 2, 64), Tlsa(3, 0, 0, 300)}),
       DaneOutcome::kDane, 2},
      {"PKIX usages only", SecureA(), Answer(true, {Tlsa(0, 1, 1), Tlsa(1, 1, 1)}),
       DaneOutcome::kUnusable, 0},
      {"PKIX-EE ignored beside DANE-EE", SecureA(), Answer(true, {Tlsa(1, 1, 1), Tlsa(3, 1, 1)}),
       DaneOutcome::kDane, 1},
      {"unknown selector", SecureA(), Answer(true, {Tlsa(3, 2, 1)}), DaneOutcome::kUnusable, 0},
      {"unknown matching type", SecureA(), Answer(true, {Tlsa(3, 1, 3)}), DaneOutcome::kUnusable,
       0},
      {"SHA-256 of the wrong length", SecureA(), Answer(true, {Tlsa(3, 1, 1, 20)}),
       DaneOutcome::kUnusable, 0},
      {"truncated record", SecureA(), Answer(true, {std::string("\x03\x01", 2)}),
       DaneOutcome::kUnusable, 0},
  };
  for (const auto& c : cases) {
    auto first = DecideDaneAddress("mx.example.com", "A", c.address);
    const DaneLookup got = first ? *first : DecideDaneTlsa("mx.example.com", c.tlsa);
    EXPECT_EQ(got.outcome, c.outcome) << c.what << ": " << got.reason;
    EXPECT_EQ(got.records.size(), c.records) << c.what;
    EXPECT_FALSE(got.reason.empty()) << c.what;
  }
}

// Answers each (name, type) from a table, synchronously, and counts the questions.
class FakeResolver final : public Resolver {
 public:
  void ResolveMx(const std::string&, MxCallback done) override { done(std::vector<MxRecord>{}); }
  void ResolveAddress(const std::string& host, uint16_t, AddrCallback done) override {
    done(MakeError(ErrorCode::kNotFound, host));
  }
  void ResolveAuthenticated(const std::string& name, uint16_t qtype,
                            AuthenticatedCallback done) override {
    ++asked[{name, qtype}];
    auto it = answers.find({name, qtype});
    if (it == answers.end()) {
      done(MakeError(ErrorCode::kUnavailable, "SERVFAIL for " + name));
      return;
    }
    done(it->second);
  }
  int Asked(const std::string& name, uint16_t qtype) { return asked[{name, qtype}]; }

  std::map<std::pair<std::string, uint16_t>, AuthenticatedAnswer> answers;
  std::map<std::pair<std::string, uint16_t>, int> asked;
};

class DaneLookupTest : public ::testing::Test {
 protected:
  DaneLookup Lookup(const std::string& host) {
    DaneLookup out;
    bool called = false;
    dane_.PolicyFor(host, [&](DaneLookup l) {
      out = std::move(l);
      called = true;
    });
    EXPECT_TRUE(called);
    return out;
  }
  void Secure(const std::string& host, std::vector<std::string> tlsa, uint32_t ttl = 300) {
    resolver_.answers[{host, kTypeA}] = SecureA();
    resolver_.answers[{host, kTypeAaaa}] = Answer(true, {});  // validated: no AAAA records
    resolver_.answers[{"_25._tcp." + host, dns::kTypeTlsa}] = Answer(true, std::move(tlsa), ttl);
  }
  // `host` is an alias of `target` (validated with the A records).
  void Alias(const std::string& host, const std::string& target) {
    resolver_.answers[{host, kTypeA}].canonical_name = target;
  }

  FakeResolver resolver_;
  sg::testing::FakeClock clock_;
  DaneConfig config_;
  Dane dane_{resolver_, clock_, config_};
};

TEST_F(DaneLookupTest, AnInsecureAddressIsNoDaneAndAsksNoTlsa) {
  resolver_.answers[{"mx.example.com", kTypeA}] = Answer(false, {"x"});
  EXPECT_EQ(Lookup("MX.Example.com.").outcome, DaneOutcome::kNone);
  EXPECT_EQ(resolver_.Asked("mx.example.com", kTypeA), 1);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 0);
}

TEST_F(DaneLookupTest, SecureRecordsAreCachedForTheirTtl) {
  Secure("mx.example.com", {Tlsa(3, 1, 1)}, 120);
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kDane);
  clock_.AdvanceMs(119'000);
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kDane);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 1);
  clock_.AdvanceMs(2'000);
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kDane);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 2);
}

TEST_F(DaneLookupTest, ASecureNoRecordsAnswerIsCachedToo) {
  Secure("mx.example.com", {}, 60);  // the SOA's negative TTL
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kNone);
  clock_.AdvanceMs(50'000);
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kNone);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 1);
  clock_.AdvanceMs(11'000);
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kNone);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 2);
}

TEST_F(DaneLookupTest, AFailedLookupIsNotCached) {
  resolver_.answers[{"mx.example.com", kTypeA}] = SecureA();
  resolver_.answers[{"mx.example.com", kTypeAaaa}] = Answer(true, {});  // TLSA: SERVFAIL
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kBogus);
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kBogus);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 2);
}

TEST_F(DaneLookupTest, MaxTtlAndCacheEntriesBoundTheCache) {
  config_.max_ttl = std::chrono::seconds(10);
  config_.cache_entries = 1;
  Secure("a.example.com", {Tlsa(3, 1, 1)}, 3600);
  Secure("b.example.com", {Tlsa(3, 1, 1)}, 3600);
  EXPECT_EQ(Lookup("a.example.com").outcome, DaneOutcome::kDane);
  clock_.AdvanceMs(5'000);
  EXPECT_EQ(Lookup("a.example.com").outcome, DaneOutcome::kDane);
  EXPECT_EQ(resolver_.Asked("_25._tcp.a.example.com", dns::kTypeTlsa), 1);
  clock_.AdvanceMs(6'000);  // past max_ttl, long before the record's TTL
  EXPECT_EQ(Lookup("a.example.com").outcome, DaneOutcome::kDane);
  EXPECT_EQ(resolver_.Asked("_25._tcp.a.example.com", dns::kTypeTlsa), 2);
  EXPECT_EQ(Lookup("b.example.com").outcome, DaneOutcome::kDane);  // takes a's place
  EXPECT_EQ(Lookup("a.example.com").outcome, DaneOutcome::kDane);
  EXPECT_EQ(resolver_.Asked("_25._tcp.a.example.com", dns::kTypeTlsa), 3);
}

TEST_F(DaneLookupTest, TheAaaaRecordsMustBeValidatedToo) {
  Secure("mx.example.com", {Tlsa(3, 1, 1)});
  resolver_.answers[{"mx.example.com", kTypeAaaa}] = Answer(false, {std::string(16, '\x01')});
  const DaneLookup got = Lookup("mx.example.com");
  EXPECT_EQ(got.outcome, DaneOutcome::kNone) << got.reason;
  EXPECT_NE(got.reason.find("AAAA"), std::string::npos) << got.reason;
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 0);
}

TEST_F(DaneLookupTest, AFailedAaaaLookupIsBogus) {
  Secure("mx.example.com", {Tlsa(3, 1, 1)});
  resolver_.answers.erase({"mx.example.com", kTypeAaaa});  // SERVFAIL
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kBogus);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 0);
}

TEST_F(DaneLookupTest, AnAliasUsesTheRecordsOfItsExpandedNameFirst) {
  Secure("mx.example.com", {Tlsa(2, 1, 1)});
  Alias("mx.example.com", "host.provider.net");
  resolver_.answers[{"_25._tcp.host.provider.net", dns::kTypeTlsa}] =
      Answer(true, {Tlsa(3, 1, 1), Tlsa(3, 0, 1)}, 100);
  const DaneLookup got = Lookup("mx.example.com");
  EXPECT_EQ(got.outcome, DaneOutcome::kDane);
  EXPECT_EQ(got.base_domain, "host.provider.net");
  EXPECT_EQ(got.records.size(), 2u);
  EXPECT_EQ(got.ttl, 100u);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 0);
}

TEST_F(DaneLookupTest, AnAliasWithoutValidatedRecordsFallsBackToItsOwnName) {
  struct Case {
    const char* what;
    AuthenticatedAnswer expanded;
  };
  for (const Case& c :
       {Case{"NXDOMAIN", Answer(true, {}, 30, false)}, Case{"NODATA", Answer(true, {}, 30)},
        Case{"insecure", Answer(false, {Tlsa(3, 1, 1)}, 30)}}) {
    resolver_.answers.clear();
    Dane dane{resolver_, clock_, config_};  // a cache of its own for each case
    Secure("mx.example.com", {Tlsa(2, 1, 1)});
    Alias("mx.example.com", "host.provider.net");
    resolver_.answers[{"_25._tcp.host.provider.net", dns::kTypeTlsa}] = c.expanded;
    DaneLookup got;
    dane.PolicyFor("mx.example.com", [&](DaneLookup l) { got = std::move(l); });
    EXPECT_EQ(got.outcome, DaneOutcome::kDane) << c.what << ": " << got.reason;
    EXPECT_EQ(got.base_domain, "mx.example.com") << c.what;
    EXPECT_EQ(got.ttl, 30u) << c.what;  // the smallest TTL of the answers
  }
}

TEST_F(DaneLookupTest, AnAliasWithUnusableOrFailedRecordsDoesNotFallBack) {
  Secure("mx.example.com", {Tlsa(3, 1, 1)});
  Alias("mx.example.com", "host.provider.net");
  resolver_.answers[{"_25._tcp.host.provider.net", dns::kTypeTlsa}] = Answer(true, {Tlsa(1, 1, 1)});
  EXPECT_EQ(Lookup("mx.example.com").outcome, DaneOutcome::kUnusable);
  Secure("other.example.com", {Tlsa(3, 1, 1)});
  Alias("other.example.com", "gone.provider.net");  // its TLSA look-up: SERVFAIL
  EXPECT_EQ(Lookup("other.example.com").outcome, DaneOutcome::kBogus);
  EXPECT_EQ(resolver_.Asked("_25._tcp.mx.example.com", dns::kTypeTlsa), 0);
  EXPECT_EQ(resolver_.Asked("_25._tcp.other.example.com", dns::kTypeTlsa), 0);
}

}  // namespace
}  // namespace sg::egress
