// The outbound rules, table-driven: every rule of issue 6 and their
// combinations, checked the way each recipient's mail client would see the
// delivered form (decrypt with the recipient's key, verify the signature).
#include <gtest/gtest.h>

#include <set>

// The rule table leaves the trailing fields (rules, notify_never) out where unused.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "tests/workers/policy/policy_test_util.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;
using smime::testing::GetTestPki;
using smime::testing::TestIdentity;

enum class Want { kUnchanged, kSigned, kEncrypted, kSignedEncrypted, kBounced, kDropped };

struct Expect {
  std::string rcpt;
  Want want;
};

struct Case {
  std::string name;
  std::string mail_from;
  std::string message;
  std::vector<Expect> expect;
  std::string subject;  // decoded subject every delivered recipient sees
  std::vector<AdminRule> rules;
  bool notify_never = false;
};

// gtest names the failing case instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const TestIdentity* KeyOf(const std::string& rcpt) {
  const auto& pki = GetTestPki();
  if (rcpt == "carol@example.org") return &pki.carol;
  if (rcpt.ends_with("@partner.example")) return &pki.bob;  // partner domain key
  return nullptr;
}

AdminRule Force(const std::string& m) { return AdminRule{m, AdminRule::Action::kForceEncrypt}; }
AdminRule Exempt(const std::string& m) { return AdminRule{m, AdminRule::Action::kExempt}; }

const std::string kAlice = "alice@example.com";
const std::string kZed = "zed@example.com";
const std::string kCarol = "carol@example.org";
const std::string kDave = "dave@partner.example";
const std::string kErin = "erin@nocert.example";

std::vector<Case> Cases() {
  const std::string sens = "Sensitivity: Company-Confidential\r\n";
  return {
      // Participating sender: signs for everybody, encrypts where a certificate is known.
      {"participant_no_cert_signed", kAlice, TextMessage(kAlice, "Hello"),
       {{kErin, Want::kSigned}}, "Hello"},
      {"participant_personal_cert_signed_encrypted", kAlice, TextMessage(kAlice, "Hello"),
       {{kCarol, Want::kSignedEncrypted}}, "Hello"},
      {"participant_domain_cert_signed_encrypted", kAlice, TextMessage(kAlice, "Hello"),
       {{kDave, Want::kSignedEncrypted}}, "Hello"},
      {"participant_ec_key_signs", "bob@example.com", TextMessage("bob@example.com", "Hello"),
       {{kErin, Want::kSigned}, {kCarol, Want::kSignedEncrypted}}, "Hello"},
      {"mixed_recipients_split_per_form", kAlice, TextMessage(kAlice, "Hello"),
       {{kCarol, Want::kSignedEncrypted}, {kDave, Want::kSignedEncrypted}, {kErin, Want::kSigned},
        {"frank@nocert.example", Want::kSigned}},
       "Hello"},
      // Non-participating sender: domain certificates only, otherwise unchanged.
      {"nonparticipant_domain_cert_encrypted_not_signed", kZed, TextMessage(kZed, "Hello"),
       {{kDave, Want::kEncrypted}}, "Hello"},
      {"nonparticipant_personal_cert_unchanged", kZed, TextMessage(kZed, "Hello"),
       {{kCarol, Want::kUnchanged}}, "Hello"},
      {"nonparticipant_personal_and_domain_cert_uses_domain_cert", kZed,
       TextMessage(kZed, "Hello"), {{"paula@partner.example", Want::kEncrypted}}, "Hello"},
      {"nonparticipant_no_cert_unchanged_tags_ignored", kZed,
       TextMessage(kZed, "[confidential] Hello"), {{kErin, Want::kUnchanged}},
       "[confidential] Hello"},
      {"nonparticipant_sensitivity_ignored", kZed, TextMessage(kZed, "Hello", "SECRET-BODY\r\n", sens),
       {{kErin, Want::kUnchanged}}, "Hello"},
      {"from_header_not_sender_not_signed", kAlice, TextMessage(kZed, "Hello"),
       {{kErin, Want::kUnchanged}}, "Hello"},
      // [confidential] and Sensitivity force encryption.
      {"confidential_with_cert", kAlice, TextMessage(kAlice, "[confidential] Offer"),
       {{kCarol, Want::kSignedEncrypted}}, "Offer"},
      {"confidential_without_cert_bounces", kAlice, TextMessage(kAlice, "[confidential] Offer"),
       {{kErin, Want::kBounced}}, ""},
      {"confidential_mixed_split", kAlice, TextMessage(kAlice, "Offer [Confidential]"),
       {{kCarol, Want::kSignedEncrypted}, {kDave, Want::kSignedEncrypted}, {kErin, Want::kBounced}},
       "Offer"},
      {"confidential_tag_mid_subject_any_case", kAlice,
       TextMessage(kAlice, "Re: numbers [CONFIDENTIAL] for Q3"), {{kErin, Want::kBounced}}, ""},
      {"confidential_in_encoded_word", kAlice,
       TextMessage(kAlice, "=?utf-8?q?=5Bconfidential=5D_Gr=C3=BC=C3=9Fe?="),
       {{kCarol, Want::kSignedEncrypted}, {kErin, Want::kBounced}}, "Grüße"},
      {"confidential_in_base64_encoded_word", kAlice,
       TextMessage(kAlice, "=?UTF-8?B?W2NvbmZpZGVudGlhbF0gw5xiZXJzaWNodA==?="),
       {{kErin, Want::kBounced}, {kCarol, Want::kSignedEncrypted}}, "Übersicht"},
      {"sensitivity_forces", kAlice, TextMessage(kAlice, "Hello", "SECRET-BODY\r\n", sens),
       {{kCarol, Want::kSignedEncrypted}, {kErin, Want::kBounced}}, "Hello"},
      {"confidential_notify_never_dropped_no_dsn", kAlice,
       TextMessage(kAlice, "[confidential] x"), {{kErin, Want::kDropped}}, "", {}, true},
      // [noenc], [nosign], [plain].
      {"noenc_signs_only", kAlice, TextMessage(kAlice, "[noenc] Hello"),
       {{kCarol, Want::kSigned}, {kDave, Want::kSigned}}, "Hello"},
      {"nosign_encrypts_only", kAlice, TextMessage(kAlice, "Hello [nosign]"),
       {{kCarol, Want::kEncrypted}, {kErin, Want::kUnchanged}}, "Hello"},
      {"noenc_nosign_unchanged", kAlice, TextMessage(kAlice, "[NoEnc][NoSign] Hello"),
       {{kCarol, Want::kUnchanged}}, "Hello"},
      {"plain_unchanged", kAlice, TextMessage(kAlice, "[plain] Hello"),
       {{kCarol, Want::kUnchanged}, {kErin, Want::kUnchanged}}, "Hello"},
      {"plain_loses_to_confidential", kAlice, TextMessage(kAlice, "[plain] [confidential] Hi"),
       {{kCarol, Want::kSignedEncrypted}, {kErin, Want::kBounced}}, "Hi"},
      {"noenc_loses_to_confidential", kAlice, TextMessage(kAlice, "[noenc][confidential] Hi"),
       {{kCarol, Want::kSignedEncrypted}}, "Hi"},
      {"nosign_with_confidential", kAlice, TextMessage(kAlice, "[nosign][confidential] Hi"),
       {{kCarol, Want::kEncrypted}, {kErin, Want::kBounced}}, "Hi"},
      // Admin rules.
      {"admin_force_domain_no_cert_bounces", kAlice, TextMessage(kAlice, "Hello"),
       {{kErin, Want::kBounced}, {kCarol, Want::kSignedEncrypted}}, "Hello",
       {Force("nocert.example")}},
      {"admin_force_applies_to_nonparticipant", kZed, TextMessage(kZed, "Hello"),
       {{kErin, Want::kBounced}, {kCarol, Want::kUnchanged}}, "Hello", {Force(kErin)}},
      {"admin_force_nonparticipant_with_cert_encrypts", kZed, TextMessage(kZed, "Hello"),
       {{kCarol, Want::kEncrypted}}, "Hello", {Force("example.org")}},
      {"admin_force_beats_plain", kAlice, TextMessage(kAlice, "[plain] Hello"),
       {{kCarol, Want::kSignedEncrypted}}, "Hello", {Force(kCarol)}},
      {"admin_exempt_signs_only", kAlice, TextMessage(kAlice, "Hello"),
       {{kCarol, Want::kSigned}, {kDave, Want::kSignedEncrypted}}, "Hello", {Exempt(kCarol)}},
      {"admin_exempt_domain_nonparticipant_unchanged", kZed, TextMessage(kZed, "Hello"),
       {{kDave, Want::kUnchanged}}, "Hello", {Exempt("partner.example")}},
      {"admin_exempt_loses_to_confidential", kAlice, TextMessage(kAlice, "[confidential] Hello"),
       {{kCarol, Want::kSignedEncrypted}}, "Hello", {Exempt(kCarol)}},
      // Calendar and TNEF: never encrypted, signed as usual.
      {"calendar_in_multipart_signed_not_encrypted", kAlice, CalendarMessage(kAlice, "Meeting"),
       {{kCarol, Want::kSigned}, {kDave, Want::kSigned}, {kErin, Want::kSigned}}, "Meeting"},
      {"calendar_nonparticipant_domain_cert_unchanged", kZed, CalendarMessage(kZed, "Meeting"),
       {{kDave, Want::kUnchanged}}, "Meeting"},
      {"tnef_signed_not_encrypted", kAlice, TnefMessage(kAlice, "RTF"),
       {{kCarol, Want::kSigned}}, "RTF"},
      {"calendar_confidential_bounces", kAlice, CalendarMessage(kAlice, "[confidential] Meeting"),
       {{kCarol, Want::kBounced}, {kErin, Want::kBounced}}, ""},
  };
}

class OutboundPolicy : public ::testing::TestWithParam<Case> {};

TEST_P(OutboundPolicy, EachRecipientGetsTheRightForm) {
  const Case& c = GetParam();
  PolicyConfig config;
  config.rules = c.rules;
  config.reporting_mta = "gw.example.com";
  config.postmaster = "postmaster@gw.example.com";
  Harness h(config);
  h.AddCast();
  std::vector<std::string> rcpts;
  for (const auto& e : c.expect) rcpts.push_back(e.rcpt);
  v1::MessageRecord in = Record(v1::DIRECTION_OUTBOUND, c.mail_from, rcpts, c.message);
  if (c.notify_never) {
    for (auto& r : *in.mutable_envelope()->mutable_recipients()) {
      r.set_notify_given(true);
      r.mutable_notify()->set_never(true);
    }
  }
  auto out = h.Run(in);
  ASSERT_TRUE(out.ok()) << out.error().ToString();

  // Distinct form ids; every recipient at most once across all forms.
  std::set<std::string> form_ids, seen;
  for (const auto& r : *out) {
    EXPECT_TRUE(form_ids.insert(r.form_id()).second) << "duplicate form " << r.form_id();
    if (r.form_id() == "dsn") continue;
    EXPECT_EQ(r.envelope().message_id(), "msg-1");
    for (const auto& x : r.envelope().recipients()) {
      EXPECT_TRUE(seen.insert(x.address()).second) << x.address() << " in two forms";
    }
  }

  bool want_dsn = false;
  for (const auto& e : c.expect) {
    SCOPED_TRACE(e.rcpt);
    auto forms = FormsFor(*out, e.rcpt);
    if (e.want == Want::kBounced || e.want == Want::kDropped) {
      EXPECT_TRUE(forms.empty()) << "a message that must be encrypted was delivered";
      want_dsn = want_dsn || e.want == Want::kBounced;
      continue;
    }
    ASSERT_EQ(forms.size(), 1u);
    const auto& form = *forms[0];
    Opened o = Open(*h.engine, form.message(), KeyOf(e.rcpt));
    EXPECT_EQ(o.subject, c.subject);
    const bool enc = e.want == Want::kEncrypted || e.want == Want::kSignedEncrypted;
    const bool sig = e.want == Want::kSigned || e.want == Want::kSignedEncrypted;
    EXPECT_EQ(o.encrypted, enc);
    if (enc) {
      EXPECT_TRUE(o.decrypt_ok) << "the recipient's key does not open its form";
      EXPECT_EQ(form.envelope().recipients_size(), 1) << "encrypted forms are per recipient";
      EXPECT_EQ(form.message().find("SECRET-BODY"), std::string::npos) << "clear text leaked";
    }
    EXPECT_EQ(o.signed_msg, sig);
    if (sig) {
      EXPECT_EQ(o.verify, smime::VerifyStatus::kGood);
    }
    EXPECT_NE(o.message.find("SECRET-BODY"), std::string::npos);
    if (e.want == Want::kUnchanged && c.subject == DecodeSubject(GetSubject(c.message).value())) {
      EXPECT_EQ(form.message(), c.message) << "unchanged means byte-identical";
    }
    ASSERT_GT(form.notes_size(), 0);
    EXPECT_FALSE(form.notes(form.notes_size() - 1).rule().empty());
  }

  const v1::MessageRecord* dsn = Dsn(*out);
  ASSERT_EQ(dsn != nullptr, want_dsn);
  if (dsn != nullptr) {
    EXPECT_EQ(dsn->envelope().mail_from(), "");
    ASSERT_EQ(dsn->envelope().recipients_size(), 1);
    EXPECT_EQ(dsn->envelope().recipients(0).address(), c.mail_from);
    EXPECT_EQ(dsn->envelope().direction(), v1::DIRECTION_INBOUND);
    const std::string& m = dsn->message();
    EXPECT_NE(m.find("Status: 5.7.1"), std::string::npos);
    EXPECT_NE(m.find("must be encrypted"), std::string::npos);
    for (const auto& e : c.expect) {
      if (e.want == Want::kBounced) {
        EXPECT_NE(m.find(e.rcpt), std::string::npos);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, OutboundPolicy, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

TEST(OutboundPolicyErrors, KeyserviceDownIsTransient) {
  Harness h;
  h.AddCast();
  h.keys.unavailable = true;
  auto out = h.Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol}, TextMessage(kAlice, "x")));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(IsTransient(out.error().code));
}

TEST(OutboundPolicyErrors, RecordWithoutDirectionIsDeadLettered) {
  Harness h;
  h.AddCast();
  auto out = h.Run(Record(v1::DIRECTION_UNSPECIFIED, kAlice, {kCarol}, TextMessage(kAlice, "x")));
  ASSERT_FALSE(out.ok());
  EXPECT_FALSE(IsTransient(out.error().code));
}

TEST(OutboundPolicyErrors, NullSenderForcedNoDsnNothingDelivered) {
  PolicyConfig config;
  config.rules = {Force("nocert.example")};
  Harness h(config);
  h.AddCast();
  auto out = h.Run(Record(v1::DIRECTION_OUTBOUND, "", {kErin}, TextMessage("daemon@example.com", "x")));
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->empty());
}

// Issue 13 point 10: a recipient whose address the keyservice refuses (a
// record written by an older ingress, or replayed) gets a DSN (5.1.3); the
// others of the message are delivered. Before, the keyservice's refusal
// failed the whole record and it was dead-lettered.
TEST(OutboundPolicyErrors, UnprocessableRecipientGetsDsnOthersDelivered) {
  Harness h;
  h.AddCast();
  const std::string bad = "bad..dots@remote.example";
  auto out = h.Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {bad, kCarol, kErin},
                          TextMessage(kAlice, "hi")));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(FormsFor(*out, kCarol).size(), 1u);
  EXPECT_EQ(FormsFor(*out, kErin).size(), 1u);
  EXPECT_TRUE(FormsFor(*out, bad).empty());
  const auto* dsn = Dsn(*out);
  ASSERT_NE(dsn, nullptr);
  ASSERT_EQ(dsn->envelope().recipients_size(), 1);
  EXPECT_EQ(dsn->envelope().recipients(0).address(), kAlice);
  EXPECT_NE(dsn->message().find("Status: 5.1.3"), std::string::npos) << dsn->message();
  EXPECT_NE(dsn->message().find(bad), std::string::npos);
  EXPECT_NE(h.registry.Serialize().find("smimegate_policy_bounces_total{reason=\"bad_address\"} 1"),
            std::string::npos);
}

// Quoted local parts and internationalised domains are addresses like any
// other: normalised once, looked up, delivered.
TEST(OutboundPolicyErrors, QuotedAndIdnRecipientsAreDelivered) {
  Harness h;
  h.AddCast();
  const std::string quoted = "\"john q\"@remote.example";
  const std::string idn = "bob@b\xc3\xbc" "cher.example";
  auto out = h.Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {quoted, idn, kErin},
                          TextMessage(kAlice, "hi")));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(FormsFor(*out, quoted).size(), 1u);
  EXPECT_EQ(FormsFor(*out, idn).size(), 1u);
  EXPECT_EQ(FormsFor(*out, kErin).size(), 1u);
  EXPECT_EQ(Dsn(*out), nullptr);
}

TEST(OutboundPolicyMetrics, CountsPerAction) {
  Harness h;
  h.AddCast();
  auto out = h.Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol, kDave, kErin},
                          TextMessage(kAlice, "hi")));
  ASSERT_TRUE(out.ok());
  const std::string text = h.registry.Serialize();
  EXPECT_NE(text.find("smimegate_policy_recipients_total{direction=\"outbound\",action=\"signed_encrypted\"} 2"),
            std::string::npos) << text;
  EXPECT_NE(text.find("smimegate_policy_recipients_total{direction=\"outbound\",action=\"signed\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("smimegate_policy_encrypted_total{method=\"domain\"} 1"), std::string::npos);
  EXPECT_NE(text.find("smimegate_policy_encrypted_total{method=\"personal\"} 1"), std::string::npos);
}

// With policy.web_encryption, a recipient that must get encrypted mail but
// has no certificate gets a portal form (issue 17): the message with its
// tags removed, for that recipient alone, destined for the portal topic;
// no bounce. The others are unaffected.
TEST(OutboundPolicyWebEncryption, ForcedWithoutCertificateGoesToThePortal) {
  PolicyConfig config;
  config.web_encryption = true;
  Harness h(config);
  h.AddCast();
  auto out = h.Run(Record(v1::DIRECTION_OUTBOUND, kAlice, {kCarol, kErin},
                          TextMessage(kAlice, "[confidential] Offer")));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(Dsn(*out), nullptr) << "web encryption must not bounce";
  auto erin = FormsFor(*out, kErin);
  ASSERT_EQ(erin.size(), 1u);
  const v1::MessageRecord& portal = *erin[0];
  EXPECT_EQ(portal.destination(), v1::DESTINATION_PORTAL);
  EXPECT_EQ(portal.envelope().recipients_size(), 1);
  EXPECT_EQ(portal.envelope().message_id(), "msg-1");
  EXPECT_NE(portal.message().find("SECRET-BODY"), std::string::npos);
  EXPECT_EQ(portal.message().find("[confidential]"), std::string::npos) << "tags stay internal";
  EXPECT_EQ(portal.notes(portal.notes_size() - 1).action(), "web-encryption");
  auto carol = FormsFor(*out, kCarol);
  ASSERT_EQ(carol.size(), 1u);
  EXPECT_EQ(carol[0]->destination(), v1::DESTINATION_DELIVER);
  const std::string text = h.registry.Serialize();
  EXPECT_NE(text.find("action=\"web_encryption\"} 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace sg::workers::testing
