// A participating sender whose signing identity the keyservice cannot give
// (a first certificate and the CA down or refusing; issue 18 "Failure
// handling"): the record is set aside while the CA is down, for at most
// workers.ca_wait from its acceptance, then delivered unsigned per policy; a
// refusal is delivered unsigned at once; forced encryption still holds.
// FakeKeyService + fake clock (policy_test_util.h).
#include <gtest/gtest.h>

#include "tests/workers/policy/policy_test_util.h"
#include "workers/policy/policy_ca_wait.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using namespace std::chrono_literals;
using smime::testing::GetTestPki;

const char* const kAlice = "alice@example.com";
const char* const kCarol = "carol@example.org";  // has a personal certificate
const char* const kErin = "erin@nocert.example";  // has none

class CaWait : public ::testing::Test {
 protected:
  void SetUp() override { Make(PolicyConfig{}); }
  void Make(PolicyConfig config) {
    h_ = std::make_unique<Harness>(std::move(config));
    h_->AddCast();
  }
  v1::MessageRecord FromAlice(const std::string& subject = "Hello") {
    v1::MessageRecord r = Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol, kErin},
                                 TextMessage(kAlice, subject));
    r.mutable_envelope()->set_received_at_ms(accepted_);
    return r;
  }
  std::string Metrics() { return h_->registry.Serialize(); }

  std::unique_ptr<Harness> h_;
  int64_t accepted_ = NowMs();
};

// Carol's form encrypted and not signed, Erin's plain and unchanged.
void ExpectDeliveredUnsigned(Harness& h, const std::vector<v1::MessageRecord>& out) {
  auto carol = FormsFor(out, kCarol);
  ASSERT_EQ(carol.size(), 1u);
  Opened c = Open(*h.engine, carol[0]->message(), &GetTestPki().carol);
  EXPECT_TRUE(c.encrypted);
  EXPECT_TRUE(c.decrypt_ok);
  EXPECT_FALSE(c.signed_msg);
  auto erin = FormsFor(out, kErin);
  ASSERT_EQ(erin.size(), 1u);
  Opened e = Open(*h.engine, erin[0]->message(), nullptr);
  EXPECT_FALSE(e.encrypted);
  EXPECT_FALSE(e.signed_msg);
  EXPECT_NE(e.message.find("SECRET-BODY"), std::string::npos);
  EXPECT_EQ(out[0].set_aside_until_ms(), 0);
}

TEST_F(CaWait, CaDownTheRecordWaitsThenIsDeliveredUnsignedAfterCaWait) {
  h_->keys.signing_fail_for[kAlice] = {ErrorCode::kUnavailable, -1};
  h_->clock.SetMs(accepted_);
  const v1::MessageRecord in = FromAlice();
  auto out = h_->Run(in);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 1u) << "the record itself, set aside";
  EXPECT_EQ((*out)[0].set_aside_until_ms(), accepted_ + 60'000) << "workers.ca_retry: 1m";
  v1::MessageRecord back = (*out)[0];
  back.clear_set_aside_until_ms();
  EXPECT_EQ(back.SerializeAsString(), in.SerializeAsString()) << "nothing of it changed";
  EXPECT_NE(Metrics().find("smimegate_policy_ca_wait_total{outcome=\"set_aside\"} 1"),
            std::string::npos);

  // Shortly before the hour: still waiting, next try exactly at the hour.
  h_->clock.SetMs(accepted_ + 3'590'000);
  out = h_->Run(in);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].set_aside_until_ms(), accepted_ + 3'600'000);

  // workers.ca_wait (1h) after the acceptance: delivered without a signature.
  h_->clock.SetMs(accepted_ + 3'600'000);
  out = h_->Run(in);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ExpectDeliveredUnsigned(*h_, *out);
  EXPECT_NE(Metrics().find("smimegate_policy_ca_wait_total{outcome=\"ca_wait_expired\"} 1"),
            std::string::npos)
      << Metrics();
  // Erin's plain form says why it is not signed.
  const auto* erin = FormsFor(*out, kErin)[0];
  const std::string rule = erin->notes(erin->notes_size() - 1).rule();
  EXPECT_NE(rule.find("no-signing-identity"), std::string::npos) << rule;
}

TEST_F(CaWait, TheCaBackBeforeCaWaitTheMessageIsSigned) {
  h_->keys.signing_fail_for[kAlice] = {ErrorCode::kTimeout, 1};
  h_->clock.SetMs(accepted_);
  auto out = h_->Run(FromAlice());
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_NE((*out)[0].set_aside_until_ms(), 0);
  h_->clock.SetMs(accepted_ + 60'000);
  out = h_->Run(FromAlice());
  ASSERT_TRUE(out.ok());
  auto erin = FormsFor(*out, kErin);
  ASSERT_EQ(erin.size(), 1u);
  Opened e = Open(*h_->engine, erin[0]->message(), nullptr);
  EXPECT_TRUE(e.signed_msg);
  EXPECT_EQ(e.verify, smime::VerifyStatus::kGood);
}

TEST_F(CaWait, ARecordWithoutAcceptanceTimeStartsItsWaitNow) {
  h_->keys.signing_fail_for[kAlice] = {ErrorCode::kUnavailable, -1};
  v1::MessageRecord in = FromAlice();
  in.mutable_envelope()->clear_received_at_ms();
  h_->clock.SetMs(accepted_);
  auto out = h_->Run(in);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].envelope().received_at_ms(), accepted_) << "stamped, so the wait is bounded";
}

TEST_F(CaWait, ARefusalOrACorruptAnswerIsDeliveredUnsignedAtOnce) {
  for (ErrorCode code : {ErrorCode::kPermissionDenied, ErrorCode::kCorruption}) {
    SCOPED_TRACE(std::string(ErrorCodeName(code)));
    Make(PolicyConfig{});
    h_->keys.signing_fail_for[kAlice] = {code, -1};
    h_->clock.SetMs(accepted_);  // no waiting at all
    auto out = h_->Run(FromAlice());
    ASSERT_TRUE(out.ok()) << out.error().ToString();
    ExpectDeliveredUnsigned(*h_, *out);
    EXPECT_EQ(Held(*out).size(), 0u) << "not a dead letter";
  }
  EXPECT_NE(Metrics().find("smimegate_policy_ca_wait_total{outcome=\"ca_corruption\"} 1"),
            std::string::npos);
}

TEST_F(CaWait, ForcedEncryptionStillHoldsWithoutASignature) {
  // An admin rule for Erin's domain, and the participant's [confidential] tag.
  PolicyConfig config;
  config.rules = {AdminRule{"nocert.example", AdminRule::Action::kForceEncrypt}};
  Make(config);
  h_->keys.signing_fail_for[kAlice] = {ErrorCode::kPermissionDenied, -1};
  auto out = h_->Run(FromAlice());
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_TRUE(FormsFor(*out, kErin).empty()) << "must be encrypted, no certificate: not sent";
  ASSERT_NE(Dsn(*out), nullptr);
  auto carol = FormsFor(*out, kCarol);
  ASSERT_EQ(carol.size(), 1u);
  EXPECT_TRUE(Open(*h_->engine, carol[0]->message(), &GetTestPki().carol).encrypted);

  Make(PolicyConfig{});
  h_->keys.signing_fail_for[kAlice] = {ErrorCode::kPermissionDenied, -1};
  out = h_->Run(FromAlice("[confidential] Plans"));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_TRUE(FormsFor(*out, kErin).empty()) << "the tag still forces encryption";
  ASSERT_NE(Dsn(*out), nullptr);
}

TEST_F(CaWait, OtherErrorsStillFail) {
  h_->keys.signing_fail_for[kAlice] = {ErrorCode::kInternal, -1};
  auto out = h_->Run(FromAlice());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInternal);
}

TEST(DecideCaWait, Table) {
  const auto wait = std::chrono::milliseconds(3'600'000);
  const auto retry = std::chrono::milliseconds(60'000);
  auto d = DecideCaWait(ErrorCode::kUnavailable, 1000, 1000, wait, retry);
  EXPECT_EQ(d.action, CaWaitAction::kWait);
  EXPECT_EQ(d.retry_at_ms, 61'000);
  d = DecideCaWait(ErrorCode::kTimeout, 1000, 1000 + 3'599'999, wait, retry);
  EXPECT_EQ(d.action, CaWaitAction::kWait);
  EXPECT_EQ(d.retry_at_ms, 1000 + 3'600'000);
  d = DecideCaWait(ErrorCode::kUnavailable, 1000, 1000 + 3'600'000, wait, retry);
  EXPECT_EQ(d.action, CaWaitAction::kUnsigned);
  EXPECT_EQ(d.reason, "ca_wait_expired");
  d = DecideCaWait(ErrorCode::kUnavailable, 0, 5000, wait, retry);
  EXPECT_EQ(d.retry_at_ms, 65'000) << "unknown acceptance: counts from now";
  d = DecideCaWait(ErrorCode::kUnavailable, 1000, 1000, std::chrono::milliseconds(0), retry);
  EXPECT_EQ(d.action, CaWaitAction::kUnsigned) << "ca_wait 0: never wait";
  EXPECT_EQ(DecideCaWait(ErrorCode::kPermissionDenied, 1, 1, wait, retry).reason, "ca_refused");
  EXPECT_EQ(DecideCaWait(ErrorCode::kInvalidArgument, 1, 1, wait, retry).action, CaWaitAction::kFail);
}

}  // namespace
}  // namespace sg::workers::testing
