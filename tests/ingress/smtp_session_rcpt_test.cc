// Recipient verification in the session (issue 13 point 4): 550 5.1.1 for
// unknown recipients at RCPT time, 451 4.4.3 when no source can say, never
// accept-then-bounce; postmaster always; the per-client limit on unknown
// recipients; the cache; and the verifier's rules on their own.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "ingress/ingress_recipient_sources.h"
#include "ingress/smtp_session.h"
#include "tests/ingress/fake_session_host.h"
#include "tests/support/temp_dir.h"

namespace sg::ingress {
namespace {

using testing::CountingIds;
using testing::FakeSessionHost;
using Strings = std::vector<std::string>;

Strings Codes(const std::string& out) { return testing::ReplyCodes(out); }

class FakeSource : public RecipientSource {
 public:
  FakeSource(std::string name, std::set<std::string> known, bool cacheable = false)
      : name_(std::move(name)), known_(std::move(known)), cacheable_(cacheable) {}
  std::string Name() const override { return name_; }
  RecipientStatus Lookup(const std::string& address) override {
    ++lookups;
    if (down) return RecipientStatus::kUnavailable;
    return known_.count(address) ? RecipientStatus::kKnown : RecipientStatus::kUnknown;
  }
  bool Cacheable() const override { return cacheable_; }
  int lookups = 0;
  bool down = false;

 private:
  std::string name_;
  std::set<std::string> known_;
  bool cacheable_;
};

class RecipientSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.hostname = "gw.example.org";
    registry_ =
        std::make_shared<FakeSource>("registry", std::set<std::string>{"alice@example.org"});
    callout_ = std::make_shared<FakeSource>(
        "callout", std::set<std::string>{"carol@example.org", "Dave@example.org"}, true);
    verifier_.SetSources("example.org", {registry_, callout_});
  }
  void Connect(const std::string& ip = "203.0.113.5") {
    PolicyConfig policy;
    policy.hosted_domains = {"example.org", "example.net"};
    session_.reset();
    steps_ = BuildSteps(cfg_, policy);
    SessionDeps deps{&cfg_,   &steps_, nullptr, &ids_,      nullptr,
                     nullptr, nullptr, nullptr, &verifier_, &limit_};
    host_ = FakeSessionHost();
    session_ = std::make_unique<Session>(deps, ip, 4000, false, host_);
    session_->Start();
    host_.Take();
    Say("EHLO c\r\nMAIL FROM:<someone@remote.example>\r\n");
  }
  std::string Say(const std::string& in) {
    session_->Feed(in);
    return host_.Take();
  }
  Strings SayCodes(const std::string& in) { return Codes(Say(in)); }

  SessionConfig cfg_;
  std::shared_ptr<FakeSource> registry_, callout_;
  RecipientVerifier verifier_{RecipientCacheConfig{}, nullptr};
  FailureLimiter limit_{FailureLimit{3, std::chrono::minutes(10), std::chrono::minutes(10)}};
  std::vector<std::shared_ptr<SessionStep>> steps_;
  CountingIds ids_;
  FakeSessionHost host_;
  std::unique_ptr<Session> session_;
};

TEST_F(RecipientSessionTest, UnknownIs550AtRcptTimeKnownByAnySourceIsAccepted) {
  Connect();
  EXPECT_EQ(SayCodes("RCPT TO:<alice@example.org>\r\n"), Strings{"250 2.1.5"});
  EXPECT_EQ(SayCodes("RCPT TO:<carol@example.org>\r\n"), Strings{"250 2.1.5"});
  std::string nobody = Say("RCPT TO:<nobody@example.org>\r\n");
  EXPECT_EQ(nobody, "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n");
  EXPECT_EQ(host_.last_blocking, BlockingWork::kRecipient);
  // Not verified: another hosted domain without sources, and postmaster.
  EXPECT_EQ(SayCodes("RCPT TO:<anyone@example.net>\r\nRCPT TO:<PostMaster@example.org>\r\n"),
            (Strings{"250 2.1.5", "250 2.1.5"}));
  EXPECT_EQ(SayCodes("DATA\r\nSubject: s\r\n\r\nx\r\n.\r\n"), (Strings{"354", "250 2.0.0"}));
  auto env = host_.Parsed(0).envelope();
  ASSERT_EQ(env.recipients_size(), 4);
  EXPECT_EQ(env.recipients(1).address(), "carol@example.org");
  EXPECT_EQ(env.recipients(2).address(), "anyone@example.net");
}

TEST_F(RecipientSessionTest, UnavailableIs451NeverAcceptThenBounce) {
  Connect();
  callout_->down = true;
  EXPECT_EQ(SayCodes("RCPT TO:<alice@example.org>\r\n"), Strings{"250 2.1.5"});  // registry knows
  EXPECT_EQ(SayCodes("RCPT TO:<carol@example.org>\r\n"), Strings{"451 4.4.3"});
  callout_->down = false;
  host_.pool_full = true;
  EXPECT_EQ(SayCodes("RCPT TO:<carol@example.org>\r\n"), Strings{"451 4.4.3"});
  host_.pool_full = false;
  EXPECT_EQ(SayCodes("RCPT TO:<carol@example.org>\r\n"), Strings{"250 2.1.5"});
}

TEST_F(RecipientSessionTest, PipelinedRecipientsAreAnsweredInOrder) {
  Connect();
  EXPECT_EQ(SayCodes("RCPT TO:<x@example.org>\r\nRCPT TO:<alice@example.org>\r\n"
                     "RCPT TO:<y@example.org>\r\nDATA\r\nSubject: s\r\n\r\nx\r\n.\r\n"),
            (Strings{"550 5.1.1", "250 2.1.5", "550 5.1.1", "354", "250 2.0.0"}));
  EXPECT_EQ(host_.Parsed(0).envelope().recipients_size(), 1);
}

TEST_F(RecipientSessionTest, CalloutAnswersAreCachedRegistryAnswersAreNot) {
  Connect();
  EXPECT_EQ(SayCodes("RCPT TO:<carol@example.org>\r\n"), Strings{"250 2.1.5"});
  EXPECT_EQ(SayCodes("RCPT TO:<Carol@Example.ORG>\r\n"), Strings{"250 2.1.5"});
  EXPECT_EQ(callout_->lookups, 1);  // the second came from the cache
  EXPECT_EQ(SayCodes("RCPT TO:<alice@example.org>\r\nRCPT TO:<alice@example.org>\r\n"),
            (Strings{"250 2.1.5", "250 2.1.5"}));
  // carol once (the cached Carol asked nobody), alice twice: registry answers
  // are never cached, so a newly registered user counts at once.
  EXPECT_EQ(registry_->lookups, 3);
  // "unknown" from the registry and the callout is not cached either (the
  // registry may learn the address); from cacheable sources alone it is.
  Say("RCPT TO:<zed@example.org>\r\nRCPT TO:<zed@example.org>\r\n");
  EXPECT_EQ(callout_->lookups, 3);
  RecipientVerifier only_callout{RecipientCacheConfig{}, nullptr};
  only_callout.SetSources("*", {callout_});
  EXPECT_EQ(only_callout.Verify("zed@example.org", 1000), RecipientStatus::kUnknown);
  EXPECT_EQ(only_callout.Cached("zed@example.org", 1000), RecipientStatus::kUnknown);
  EXPECT_EQ(only_callout.Cached("zed@example.org", 1000 + 11 * 60 * 1000), std::nullopt);
  EXPECT_EQ(only_callout.Verify("carol@example.org", 1000), RecipientStatus::kKnown);
  EXPECT_EQ(only_callout.Cached("carol@example.org", 1000 + 59 * 60 * 1000),
            RecipientStatus::kKnown);
  callout_->down = true;
  EXPECT_EQ(only_callout.Verify("erin@example.org", 1000), RecipientStatus::kUnavailable);
  EXPECT_EQ(only_callout.Cached("erin@example.org", 1000), std::nullopt);  // never cached
}

// Enumeration: after `failures` unknown recipients from one client (over
// any sessions), every RCPT of a verified domain gets 450 4.7.1 for a
// while, without a lookup, so valid and invalid addresses look the same.
TEST_F(RecipientSessionTest, UnknownRecipientsPerClientAreLimited) {
  Connect("2001:db8:7:7::1");
  Say("RCPT TO:<a1@example.org>\r\nRCPT TO:<a2@example.org>\r\n");
  Connect("2001:db8:7:7::2");  // the same /64
  EXPECT_EQ(SayCodes("RCPT TO:<a3@example.org>\r\n"), Strings{"550 5.1.1"});
  const int before = registry_->lookups;
  EXPECT_EQ(SayCodes("RCPT TO:<alice@example.org>\r\nRCPT TO:<a4@example.org>\r\n"),
            (Strings{"450 4.7.1", "450 4.7.1"}));
  EXPECT_EQ(registry_->lookups, before);
  // Unverified domains and other clients are unaffected.
  EXPECT_EQ(SayCodes("RCPT TO:<x@example.net>\r\n"), Strings{"250 2.1.5"});
  Connect("192.0.2.10");
  EXPECT_EQ(SayCodes("RCPT TO:<alice@example.org>\r\n"), Strings{"250 2.1.5"});
}

TEST_F(RecipientSessionTest, RelayListenersAreNotVerified) {
  cfg_.role = Role::kRelay;
  PolicyConfig policy;
  policy.hosted_domains = {"example.org"};
  steps_ = BuildSteps(cfg_, policy);
  SessionDeps deps{&cfg_,   &steps_, nullptr, &ids_,      nullptr,
                   nullptr, nullptr, nullptr, &verifier_, &limit_};
  FakeSessionHost host;
  Session s(deps, "10.0.0.1", 1, true, host);
  s.Start();
  s.Feed("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.org>\r\n");
  EXPECT_EQ(Codes(host.out).back(), "250 2.1.5");
  EXPECT_EQ(registry_->lookups, 0);
}

TEST(RecipientSourcesTest, ListFileWithDomainsCommentsAndReload) {
  sg::testing::TempDir dir;
  const std::string path = dir.Sub("rcpt.txt");
  {
    std::ofstream(path)
        << "# hosted users\nAlice@Example.org\n\n  bob@example.org  \n@example.net\n";
  }
  auto list = ListSource::Open(path, "ingress.recipient_verification.domains[0].list");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ((*list)->Lookup("alice@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("BOB@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("anyone@example.net"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("carol@example.org"), RecipientStatus::kUnknown);
  { std::ofstream(path) << "carol@example.org\n"; }
  ASSERT_TRUE((*list)->Reload().ok());
  EXPECT_EQ((*list)->Lookup("carol@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("alice@example.org"), RecipientStatus::kUnknown);
  // A broken file keeps the old list and names the line.
  { std::ofstream(path) << "carol@example.org\nnot an address\n"; }
  auto st = (*list)->Reload();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "config ingress.recipient_verification.domains[0].list: " + path +
                " line 2: expected an address or @domain, got \"not an address\"");
  EXPECT_EQ((*list)->Lookup("carol@example.org"), RecipientStatus::kKnown);
}

// Entries are normalised like every address (common/mail/address.h): an IDN
// domain written in U-labels in the list matches the xn-- form on the wire,
// and the other way round.
TEST(RecipientSourcesTest, ListEntriesAndLookupsUseTheOneNormaliser) {
  sg::testing::TempDir dir;
  const std::string path = dir.Sub("rcpt.txt");
  { std::ofstream(path) << "bob@b\xc3\xbc" "cher.example\n@xn--mnchen-3ya.example\n"; }
  auto list = ListSource::Open(path, "x.list");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ((*list)->Lookup("bob@xn--bcher-kva.example"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("Bob@B\xc3\xbc" "cher.example"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("anyone@m\xc3\xbc" "nchen.example"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("anyone@XN--MNCHEN-3YA.example"), RecipientStatus::kKnown);
  EXPECT_EQ((*list)->Lookup("alice@xn--bcher-kva.example"), RecipientStatus::kUnknown);
  // An entry the normaliser refuses is a config error naming the line.
  { std::ofstream(path) << "a..b@example.org\n"; }
  auto st = (*list)->Reload();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("x.list: " + path + " line 1: "), std::string::npos)
      << st.error().message;
}

TEST(RecipientSourcesTest, RegistryAnswers) {
  class FakeRegistry : public UserRegistry {
   public:
    Result<bool> Participates(const std::string& address) override {
      if (address == "down@example.org") return MakeError(ErrorCode::kUnavailable, "down");
      if (address == "bad") return MakeError(ErrorCode::kInvalidArgument, "malformed");
      return address == "alice@example.org";
    }
  } registry;
  RegistrySource source(registry);
  EXPECT_EQ(source.Lookup("alice@example.org"), RecipientStatus::kKnown);
  EXPECT_EQ(source.Lookup("carol@example.org"), RecipientStatus::kUnknown);
  EXPECT_EQ(source.Lookup("down@example.org"), RecipientStatus::kUnavailable);
  EXPECT_EQ(source.Lookup("bad"), RecipientStatus::kUnknown);
}

}  // namespace
}  // namespace sg::ingress
