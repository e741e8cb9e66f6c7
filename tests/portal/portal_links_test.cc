// One-time links: 256-bit tokens stored only as their hash, single use,
// expiring, bound to their purpose; registration codes.
#include "portal/portal_links.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "portal/portal_crypto.h"
#include "portal/portal_store_memory.h"
#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

constexpr int64_t kTtl = 7 * 24 * 3600 * 1000LL;

class PortalLinks : public ::testing::Test {
 protected:
  MemoryPortalStore store_;
  testing::FakeClock clock_;
  Links links_{store_, clock_, "https://portal.example:8443"};
};

TEST_F(PortalLinks, ATokenIs256RandomBitsAndOnlyItsHashIsStored) {
  auto link = links_.IssueMessageLink("bob@partner.example", "m1", "corp.example", kTtl, false);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->token.size(), 43u);
  auto raw = FromUrlSafeText(link->token);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 32u);
  EXPECT_EQ(link->url, "https://portal.example:8443/l/" + link->token);
  EXPECT_TRUE(store_.GetToken(Sha256(link->token))->has_value());
  EXPECT_FALSE(store_.GetToken(link->token)->has_value());
  auto other = links_.IssueMessageLink("bob@partner.example", "m1", "corp.example", kTtl, false);
  EXPECT_NE(other->token, link->token);
}

TEST_F(PortalLinks, PeekDoesNotUseTheLinkConsumeUsesItOnce) {
  auto link = links_.IssueMessageLink("bob@partner.example", "m1", "corp.example", kTtl, false);
  auto peek = links_.Peek(link->token, pb::LinkToken::PURPOSE_MESSAGE);
  ASSERT_TRUE(peek.ok() && peek->has_value());
  EXPECT_EQ((*peek)->address(), "bob@partner.example");
  EXPECT_EQ((*peek)->message_id(), "m1");
  EXPECT_TRUE(links_.Peek(link->token, pb::LinkToken::PURPOSE_MESSAGE)->has_value());
  EXPECT_TRUE(*links_.Consume(link->token));
  EXPECT_FALSE(*links_.Consume(link->token));  // reused
  EXPECT_FALSE(links_.Peek(link->token, pb::LinkToken::PURPOSE_MESSAGE)->has_value());
}

TEST_F(PortalLinks, AnExpiredLinkIsRefused) {
  auto link = links_.IssueResetLink("bob@partner.example", "corp.example", 1000);
  clock_.AdvanceMs(999);
  EXPECT_TRUE(links_.Peek(link->token, pb::LinkToken::PURPOSE_RESET)->has_value());
  clock_.AdvanceMs(1);
  EXPECT_FALSE(links_.Peek(link->token, pb::LinkToken::PURPOSE_RESET)->has_value());
  EXPECT_FALSE(*links_.Consume(link->token));
}

TEST_F(PortalLinks, ALinkOnlyServesItsPurpose) {
  auto reset = links_.IssueResetLink("bob@partner.example", "corp.example", kTtl);
  EXPECT_EQ(reset->url.find("/r/"), std::string("https://portal.example:8443").size());
  EXPECT_FALSE(links_.Peek(reset->token, pb::LinkToken::PURPOSE_MESSAGE)->has_value());
  EXPECT_TRUE(links_.Peek(reset->token, pb::LinkToken::PURPOSE_RESET)->has_value());
}

TEST_F(PortalLinks, MalformedTokensNeverReachTheStore) {
  for (const std::string& bad : std::vector<std::string>{"", "short", std::string(43, '='), std::string(44, 'a'),
                                std::string("../../etc/passwd") + std::string(27, 'a')}) {
    auto peek = links_.Peek(bad, pb::LinkToken::PURPOSE_MESSAGE);
    ASSERT_TRUE(peek.ok());
    EXPECT_FALSE(peek->has_value()) << bad;
    EXPECT_FALSE(*links_.Consume(bad)) << bad;
  }
}

TEST_F(PortalLinks, ConcurrentConsumersHaveExactlyOneWinner) {
  auto link = links_.IssueMessageLink("bob@partner.example", "m1", "corp.example", kTtl, false);
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto won = links_.Consume(link->token);
      if (won.ok() && *won) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
}

TEST_F(PortalLinks, RegistrationCodeIsEightDigitsStoredHashed) {
  auto link = links_.IssueMessageLink("bob@partner.example", "m1", "corp.example", kTtl, true);
  ASSERT_EQ(link->code.size(), 8u);
  for (char c : link->code) EXPECT_TRUE(c >= '0' && c <= '9');
  auto record = links_.Peek(link->token, pb::LinkToken::PURPOSE_MESSAGE);
  const pb::LinkToken& t = **record;
  EXPECT_EQ(t.code_hash().find(link->code), std::string::npos);
  EXPECT_TRUE(Links::CodeMatches(t, link->code));
  EXPECT_TRUE(Links::CodeMatches(t, link->code.substr(0, 4) + " " + link->code.substr(4)));
  std::string wrong = link->code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  EXPECT_FALSE(Links::CodeMatches(t, wrong));
  auto plain = links_.IssueMessageLink("bob@partner.example", "m1", "corp.example", kTtl, false);
  EXPECT_TRUE(plain->code.empty());
  EXPECT_FALSE(Links::CodeMatches(**links_.Peek(plain->token, pb::LinkToken::PURPOSE_MESSAGE), ""));
}

}  // namespace
}  // namespace sg::portal
