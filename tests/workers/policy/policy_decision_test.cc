// The decision functions on their own: facts in, form and rules out
// (workers/policy/policy_decision.h). The processor tests
// (policy_outbound_test, policy_inbound_test) check the same rules through
// real keys and messages; these pin the precedence table itself.
#include <gtest/gtest.h>

#include <set>

#include "workers/policy/policy_decision.h"

namespace sg::workers {
namespace {

// ---------------------------------------------------------------- outbound

struct OutCase {
  std::string name;
  MessageFacts m;
  RecipientFacts r;
  bool web = false;
  Form form;
  std::string rules;
  bool domain_cert = false;
};

void PrintTo(const OutCase& c, std::ostream* os) { *os << c.name; }

const AdminRule kForce{"partner.example", AdminRule::Action::kForceEncrypt};
const AdminRule kExempt{"carol@example.org", AdminRule::Action::kExempt};

MessageFacts Participant(SubjectTags tags = {}) {
  MessageFacts m;
  m.sender_participates = true;
  m.tags = tags;
  return m;
}
SubjectTags Tags(bool confidential, bool noenc, bool nosign, bool plain) {
  SubjectTags t;
  t.confidential = confidential;
  t.noenc = noenc;
  t.nosign = nosign;
  t.plain = plain;
  return t;
}
RecipientFacts Cert(bool personal, bool domain, const AdminRule* rule = nullptr) {
  return RecipientFacts{personal, domain, rule};
}

std::vector<OutCase> OutCases() {
  MessageFacts none;
  MessageFacts mismatch;
  mismatch.from_mismatch = true;
  MessageFacts calendar = Participant();
  calendar.never_encrypt_part = "text/calendar";
  MessageFacts sens = Participant();
  sens.company_confidential = true;
  MessageFacts sens_nonpart;
  sens_nonpart.company_confidential = true;
  MessageFacts encrypted = Participant(Tags(true, false, false, false));
  encrypted.already_encrypted = true;
  MessageFacts presigned = Participant();
  presigned.already_signed = true;
  const auto conf = Tags(true, false, false, false);
  return {
      {"participant_personal", Participant(), Cert(true, false), false, Form::kSignedEncrypted,
       "personal-cert"},
      {"participant_domain", Participant(), Cert(false, true), false, Form::kSignedEncrypted,
       "domain-cert", true},
      {"participant_personal_over_domain", Participant(), Cert(true, true), false,
       Form::kSignedEncrypted, "personal-cert"},
      {"participant_none", Participant(), Cert(false, false), false, Form::kSigned,
       "participating,no-certificate"},
      {"nonparticipant_personal", none, Cert(true, false), false, Form::kUnchanged,
       "non-participating"},
      {"nonparticipant_domain", none, Cert(true, true), false, Form::kEncrypted, "domain-cert",
       true},
      {"from_mismatch", mismatch, Cert(false, false), false, Form::kUnchanged, "from-mismatch"},
      {"already_encrypted_beats_confidential", encrypted, Cert(false, false), false,
       Form::kUnchanged, "already-encrypted"},
      {"confidential_cert", Participant(conf), Cert(true, false), false, Form::kSignedEncrypted,
       "tag-confidential,personal-cert"},
      {"confidential_no_cert_bounce", Participant(conf), Cert(false, false), false, Form::kBounce,
       "tag-confidential,no-certificate"},
      {"confidential_no_cert_web", Participant(conf), Cert(false, false), true,
       Form::kWebEncryption, "tag-confidential,web-encryption"},
      {"confidential_nosign", Participant(Tags(true, false, true, false)), Cert(false, true),
       false, Form::kEncrypted, "tag-confidential,domain-cert", true},
      {"confidential_beats_plain_noenc", Participant(Tags(true, true, false, true)),
       Cert(true, false), false, Form::kSignedEncrypted, "tag-confidential,personal-cert"},
      {"confidential_from_nonparticipant_ignored", [&] {
         MessageFacts m;
         m.tags = conf;
         return m;
       }(), Cert(false, false),
       false, Form::kUnchanged, "non-participating"},
      {"sensitivity", sens, Cert(false, false), false, Form::kBounce,
       "sensitivity-confidential,no-certificate"},
      {"sensitivity_nonparticipant_ignored", sens_nonpart, Cert(false, false), false,
       Form::kUnchanged, "non-participating"},
      {"admin_force_any_sender", none, Cert(false, false, &kForce), false, Form::kBounce,
       "admin-force:partner.example,no-certificate"},
      {"admin_force_cert", none, Cert(true, false, &kForce), false, Form::kEncrypted,
       "admin-force:partner.example,personal-cert"},
      {"admin_force_beats_plain", Participant(Tags(false, false, false, true)),
       Cert(false, true, &kForce), false, Form::kSignedEncrypted,
       "admin-force:partner.example,domain-cert", true},
      {"forced_calendar_bounces", [&] {
         MessageFacts m = calendar;
         m.tags.confidential = true;
         return m;
       }(), Cert(true, false), false, Form::kBounce, "tag-confidential,never-encrypt"},
      {"plain", Participant(Tags(false, false, false, true)), Cert(true, false), false,
       Form::kUnchanged, "tag-plain"},
      {"noenc_signs", Participant(Tags(false, true, false, false)), Cert(true, false), false,
       Form::kSigned, "participating,tag-noenc"},
      {"nosign_encrypts", Participant(Tags(false, false, true, false)), Cert(true, false), false,
       Form::kEncrypted, "personal-cert"},
      {"noenc_nosign", Participant(Tags(false, true, true, false)), Cert(true, false), false,
       Form::kUnchanged, "tag-nosign,tag-noenc"},
      {"exempt_signs", Participant(), Cert(true, false, &kExempt), false, Form::kSigned,
       "participating,admin-exempt:carol@example.org"},
      {"calendar_signed_not_encrypted", calendar, Cert(true, false), false, Form::kSigned,
       "participating,never-encrypt:text/calendar"},
      {"presigned_encrypted_not_signed", presigned, Cert(true, false), false, Form::kEncrypted,
       "personal-cert"},
      {"presigned_no_cert", presigned, Cert(false, false), false, Form::kUnchanged,
       "already-signed,no-certificate"},
  };
}

class OutboundDecision : public ::testing::TestWithParam<OutCase> {};

TEST_P(OutboundDecision, Table) {
  const OutCase& c = GetParam();
  Decision d = DecideOutbound(c.m, c.r, c.web);
  EXPECT_EQ(FormName(d.form), FormName(c.form));
  EXPECT_EQ(d.RuleText(), c.rules);
  EXPECT_EQ(d.domain_cert, c.domain_cert);
  EXPECT_EQ(d.form == Form::kBounce, !d.reason.empty()) << "a bounce says why, nothing else does";
}

INSTANTIATE_TEST_SUITE_P(Rules, OutboundDecision, ::testing::ValuesIn(OutCases()),
                         [](const auto& p) { return p.param.name; });

TEST(OutboundDecision, BounceReasonNamesTheCause) {
  Decision d = DecideOutbound(Participant(Tags(true, false, false, false)), Cert(false, false),
                              false);
  EXPECT_NE(d.reason.find("[confidential]"), std::string::npos);
  EXPECT_NE(d.reason.find("no certificate"), std::string::npos);
}

// ----------------------------------------------------------------- inbound

struct InCase {
  std::string name;
  InboundFacts f;
  InboundAction action;
  std::string rules;
  std::string marks;
};

void PrintTo(const InCase& c, std::ostream* os) { *os << c.name; }

InboundFacts Facts(Decryption d, SignatureVerdict s, bool auth = false) {
  InboundFacts f;
  f.decryption = d;
  f.signature = s;
  f.auth_enveloped = auth;
  return f;
}

std::vector<InCase> InCases() {
  InboundFacts compressed;
  compressed.other_smime = "compressed";
  InboundFacts forged;
  forged.forged_mark = true;
  InboundFacts tag = Facts(Decryption::kDecrypted, SignatureVerdict::kGood);
  tag.forged_tag = true;
  auto failed = [](DsnVerdict v) {
    InboundFacts f = Facts(Decryption::kFailed, SignatureVerdict::kNone);
    f.dsn = v;
    return f;
  };
  return {
      {"plain", Facts(Decryption::kNone, SignatureVerdict::kNone), InboundAction::kPassed,
       "inbound-not-smime", ""},
      {"plain_forged_mark", forged, InboundAction::kPassed, "inbound-not-smime,forged-mark-removed",
       ""},
      {"other_smime", compressed, InboundAction::kPassed, "inbound-smime:compressed", ""},
      {"signed_good", Facts(Decryption::kNone, SignatureVerdict::kGood), InboundAction::kVerified,
       "signature-good", "[signed OK]"},
      {"signed_invalid", Facts(Decryption::kNone, SignatureVerdict::kInvalid),
       InboundAction::kVerified, "signature-invalid", "[signed INVALID]"},
      {"decrypted", Facts(Decryption::kDecrypted, SignatureVerdict::kNone),
       InboundAction::kDecrypted, "decrypted", "[secure]"},
      {"decrypted_gcm_signed", Facts(Decryption::kDecrypted, SignatureVerdict::kGood, true),
       InboundAction::kDecrypted, "decrypted-authenveloped,signature-good",
       "[secure] [signed OK]"},
      {"decrypted_bad_signature", Facts(Decryption::kDecrypted, SignatureVerdict::kInvalid),
       InboundAction::kDecrypted, "decrypted,signature-invalid", "[secure] [signed INVALID]"},
      {"not_ours", Facts(Decryption::kNotOurs, SignatureVerdict::kNone), InboundAction::kPassed,
       "encrypted-not-hosted", ""},
      {"failed", Facts(Decryption::kFailed, SignatureVerdict::kGood), InboundAction::kBounced,
       "undecryptable", ""},
      {"failed_no_dsn_wanted", failed(DsnVerdict::kNotWanted), InboundAction::kBounced,
       "undecryptable,dsn-suppressed:not-wanted", ""},
      {"failed_dsn_already_sent", failed(DsnVerdict::kAlreadySent), InboundAction::kBounced,
       "undecryptable,dsn-suppressed:already-sent", ""},
      {"failed_rate_limited", failed(DsnVerdict::kRateLimited), InboundAction::kBounced,
       "undecryptable,dsn-suppressed:rate-limited", ""},
      {"replayed_quarantined", Facts(Decryption::kReplayed, SignatureVerdict::kGood),
       InboundAction::kQuarantined, "content-key-replayed", ""},
      {"not_ours_signed_outside", Facts(Decryption::kNotOurs, SignatureVerdict::kGood),
       InboundAction::kVerified, "encrypted-not-hosted,signature-good", "[signed OK]"},
      {"decrypted_tag_removed", tag, InboundAction::kDecrypted,
       "decrypted,signature-good,forged-tag-removed", "[secure] [signed OK]"},
  };
}

class InboundDecisionTable : public ::testing::TestWithParam<InCase> {};

TEST_P(InboundDecisionTable, Table) {
  const InCase& c = GetParam();
  InboundDecision d = DecideInbound(c.f);
  EXPECT_EQ(InboundActionName(d.action), InboundActionName(c.action));
  EXPECT_EQ(d.RuleText(), c.rules);
  EXPECT_EQ(d.marks, c.marks);
  EXPECT_EQ(d.action == InboundAction::kBounced, d.status == "5.7.5");
  EXPECT_EQ(d.send_dsn, d.action == InboundAction::kBounced && c.f.dsn == DsnVerdict::kSend);
}

INSTANTIATE_TEST_SUITE_P(Rules, InboundDecisionTable, ::testing::ValuesIn(InCases()),
                         [](const auto& p) { return p.param.name; });

TEST(RuleNames, EveryRuleHasItsOwnName) {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(Rule::kContentKeyReplayed); ++i) {
    std::string_view n = RuleName(static_cast<Rule>(i));
    EXPECT_NE(n, "unknown") << i;
    EXPECT_TRUE(names.insert(n).second) << "duplicate rule name " << n;
  }
}

}  // namespace
}  // namespace sg::workers
