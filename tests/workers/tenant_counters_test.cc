// Message counters per tenant (workers/tenant_counters.h, docs/usage.md):
// counted once per message and action from the policy's notes, attributed to
// the tenant of the sender (outbound) or recipient (inbound) domain, sent in
// batches, kept when the keyservice cannot take them.
#include "workers/tenant_counters.h"

#include <gtest/gtest.h>

namespace sg::workers {
namespace {

namespace v1 = smimegate::v1;

v1::MessageRecord Out(const std::vector<std::pair<std::string, std::string>>& notes) {
  v1::MessageRecord r;
  auto* old = r.add_notes();  // copied from the input: not counted again
  old->set_action("signed");
  for (const auto& [action, rcpt] : notes) {
    auto* n = r.add_notes();
    n->set_action(action);
    n->set_detail(rcpt);
  }
  return r;
}

v1::Envelope Env(v1::Direction d, const std::string& from,
                 const std::vector<std::string>& rcpts) {
  v1::Envelope e;
  e.set_direction(d);
  e.set_mail_from(from);
  for (const auto& r : rcpts) e.add_recipients()->set_address(r);
  return e;
}

TEST(TenantCounters, CountsOncePerMessageAndActionPerTenantInBatches) {
  metrics::Registry registry;
  std::vector<TenantCounters::Batch> sent;
  bool keyservice_up = false;
  TenantCounters c(
      [&](const TenantCounters::Batch& b) {
        if (!keyservice_up) return Status(MakeError(ErrorCode::kUnavailable, "down"));
        sent.push_back(b);
        return OkStatus();
      },
      registry);
  c.ReplaceDomains({{"a.example", "a"}, {"b.example", "b"}});
  // Outbound from a: two forms, signed+encrypted to two recipients, signed to one.
  c.Observe(Env(v1::DIRECTION_OUTBOUND, "ceo@a.example", {"x@p.example", "y@p.example"}), 1,
            {Out({{"signed+encrypted", "x@p.example"}, {"signed+encrypted", "y@p.example"}}),
             Out({{"signed", "z@p.example"}})});
  // Inbound: decrypted for a b user, verified for an a user, passed for nobody.
  c.Observe(Env(v1::DIRECTION_INBOUND, "p@p.example", {"u@b.example", "v@a.example"}), 1,
            {Out({{"decrypted", "u@b.example"}}), Out({{"verified", "v@a.example"}}),
             Out({{"passed", "w@a.example"}})});
  // A DSN for a bounced outbound recipient of b; web encryption for a.
  v1::MessageRecord dsn;
  dsn.add_notes()->set_action("dsn");
  c.Observe(Env(v1::DIRECTION_OUTBOUND, "ceo@b.example", {"q@p.example"}), 0, {dsn});
  c.Observe(Env(v1::DIRECTION_OUTBOUND, "ceo@a.example", {"q@p.example"}), 1,
            {Out({{"web-encryption", "q@p.example"}})});
  // No tenant: not counted.
  c.Observe(Env(v1::DIRECTION_OUTBOUND, "x@elsewhere.example", {"q@p.example"}), 1,
            {Out({{"signed", "q@p.example"}})});

  EXPECT_FALSE(c.Flush().ok());  // the keyservice is down: kept
  keyservice_up = true;
  ASSERT_TRUE(c.Flush().ok());
  ASSERT_EQ(sent.size(), 1u);
  const TenantCounters::Batch want = {
      {"a", {{"signed", 1}, {"encrypted", 1}, {"verified", 1}, {"web_encrypted", 1}}},
      {"b", {{"decrypted", 1}, {"bounced", 1}}}};
  EXPECT_EQ(sent[0], want);
  ASSERT_TRUE(c.Flush().ok());
  EXPECT_EQ(sent.size(), 1u) << "nothing new: no call";
  const std::string text = registry.Serialize();
  EXPECT_NE(text.find("smimegate_tenant_messages_total{tenant=\"a\",kind=\"signed\"} 1"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace sg::workers
