// The test address (issue 24): the screen (table), the report builder
// (table), and the processor in front of the real policy over a
// FakeKeyService with the S/MIME test PKI (policy_test_util.h).
#include <gtest/gtest.h>

#include "tests/workers/policy/policy_test_util.h"
#include "workers/policy/policy_test_address_processor.h"
#include "workers/policy/policy_test_address_report.h"
#include "workers/policy/policy_test_address_screen.h"

namespace sg::workers::testing {
namespace {
namespace v1 = smimegate::v1;

constexpr const char* kTest = "check@example.com";

// ------------------------------------------------------------------ screen

TEST(TestAddressScreen, Table) {
  struct Case {
    const char* name;
    std::string mail_from;
    std::string extra_headers;
    TestScreen want;
  };
  const std::vector<Case> cases = {
      {"plain", "alice@example.com", "", TestScreen::kAnswer},
      {"auto-submitted no", "alice@example.com", "Auto-Submitted: no\r\n", TestScreen::kAnswer},
      {"null sender", "", "", TestScreen::kNullSender},
      {"auto-replied", "alice@example.com", "Auto-Submitted: auto-replied\r\n",
       TestScreen::kAutoSubmitted},
      {"auto-generated", "alice@example.com", "auto-submitted: Auto-Generated\r\n",
       TestScreen::kAutoSubmitted},
      {"precedence bulk", "alice@example.com", "Precedence: bulk\r\n", TestScreen::kAutoSubmitted},
      {"precedence list", "alice@example.com", "Precedence: LIST\r\n", TestScreen::kAutoSubmitted},
      {"precedence junk", "alice@example.com", "Precedence: junk\r\n", TestScreen::kAutoSubmitted},
      {"precedence first-class", "alice@example.com", "Precedence: first-class\r\n",
       TestScreen::kAnswer},
      {"list-id", "alice@example.com", "List-Id: <l.example.com>\r\n", TestScreen::kAutoSubmitted},
      {"mailer-daemon", "MAILER-DAEMON@example.org", "", TestScreen::kAutoSubmitted},
      {"list owner", "owner-list@example.org", "", TestScreen::kAutoSubmitted},
      {"list request", "list-request@example.org", "", TestScreen::kAutoSubmitted},
      {"our report", "alice@example.com", "X-Smimegate-Test-Report: gw.example.com\r\n",
       TestScreen::kLoop},
      {"from the test address", "Check@Example.com", "", TestScreen::kLoop},
  };
  for (const auto& c : cases) {
    v1::MessageRecord r =
        Record(v1::DIRECTION_OUTBOUND, c.mail_from, {kTest},
               TextMessage("alice@example.com", "hi", "body\r\n", c.extra_headers));
    EXPECT_EQ(ScreenTestMessage(r, kTest, smime::MimeLimits{}), c.want) << c.name;
  }
}

// ------------------------------------------------------------------ report

v1::MessageRecord ArrivedOverTls() {
  v1::MessageRecord r = Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {kTest},
                               TextMessage("alice@example.com", "setup check", "SECRET-BODY\r\n"));
  auto* env = r.mutable_envelope();
  env->set_listener("relay");
  env->set_header_message_id("<t1@example.com>");
  env->set_received_at_ms(NowMs());
  env->set_auth_identity("alice@example.com");
  env->mutable_client()->set_ip("192.0.2.7");
  env->mutable_client()->set_port(40001);
  env->mutable_client()->set_helo("mail.example.com\r\nBcc: evil@example.org");
  env->mutable_tls()->set_active(true);
  env->mutable_tls()->set_version("TLSv1.3");
  env->mutable_tls()->set_cipher("TLS_AES_256_GCM_SHA384");
  return r;
}

TEST(TestAddressReport, NamesHowItArrivedTenantAndActions) {
  TestReportFacts facts;
  facts.tenant = "acme";
  facts.tenant_note = "sender domain example.com";
  facts.actions = {"signed (rule: participant)"};
  facts.outcome = "a recipient here would receive it signed";
  const v1::MessageRecord report =
      BuildTestReport(ArrivedOverTls(), facts, {kTest, "gw.example.com", NowMs()});
  const std::string& m = report.message();
  struct Want {
    const char* what;
    const char* text;
  };
  const std::vector<Want> wants = {
      {"from", "From: smimegate test address <check@example.com>\r\n"},
      {"to", "To: <alice@example.com>\r\n"},
      {"subject", "Subject: Test report: setup check\r\n"},
      {"in-reply-to", "In-Reply-To: <t1@example.com>\r\n"},
      {"references", "References: <t1@example.com>\r\n"},
      {"auto-submitted", "Auto-Submitted: auto-replied\r\n"},
      {"loop marker", "X-Smimegate-Test-Report: gw.example.com\r\n"},
      {"content type", "Content-Type: text/plain; charset=utf-8\r\n"},
      {"tls", "TLS:                TLSv1.3, TLS_AES_256_GCM_SHA384\r\n"},
      {"auth", "SMTP AUTH:          alice@example.com\r\n"},
      {"client cert", "Client certificate: none\r\n"},
      {"listener", "Listener:           relay\r\n"},
      {"tenant", "Tenant:             acme (sender domain example.com)\r\n"},
      {"action", "  signed (rule: participant)\r\n"},
      {"quoted subject", "  Subject: setup check\r\n"},
      // A CR LF in a client-supplied value never starts a header or line.
      {"helo on one line", "HELO mail.example.com Bcc: evil@example.org"},
  };
  for (const auto& w : wants) EXPECT_NE(m.find(w.text), std::string::npos) << w.what << "\n" << m;
  EXPECT_EQ(m.find("SECRET-BODY"), std::string::npos) << "the body is never quoted";
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);

  const auto& env = report.envelope();
  EXPECT_EQ(env.mail_from(), "") << "a report comes from the null sender (RFC 3834)";
  EXPECT_EQ(env.direction(), v1::DIRECTION_INBOUND) << "back to the organisation";
  ASSERT_EQ(env.recipients_size(), 1);
  EXPECT_EQ(env.recipients(0).address(), "alice@example.com");
  EXPECT_TRUE(env.recipients(0).notify().never());
  EXPECT_EQ(env.message_id(), "msg-1.test-report") << "stable: a retry is a duplicate";
}

TEST(TestAddressReport, InboundGoesBackOutAndSaysNoTls) {
  v1::MessageRecord in = Record(v1::DIRECTION_INBOUND, "peer@remote.example", {kTest},
                                TextMessage("peer@remote.example", "hello"));
  TestReportFacts facts;
  facts.outcome = "x";
  const v1::MessageRecord report = BuildTestReport(in, facts, {kTest, "gw", 0});
  EXPECT_EQ(report.envelope().direction(), v1::DIRECTION_OUTBOUND);
  EXPECT_NE(report.message().find("TLS:                none"), std::string::npos);
  EXPECT_NE(report.message().find("SMTP AUTH:          none"), std::string::npos);
  EXPECT_NE(report.message().find("Tenant:             none"), std::string::npos);
}

TEST(TestAddressReport, NeverLargerThanTheMessageOrTheFloor) {
  // A message with many long header fields: the quoted part is cut.
  std::string extra;
  for (int i = 0; i < 40; ++i) extra += "To: user" + std::to_string(i) + "@example.org\r\n";
  for (size_t body : {size_t{10}, size_t{5000}}) {
    v1::MessageRecord in = Record(
        v1::DIRECTION_OUTBOUND, "alice@example.com", {kTest},
        TextMessage("alice@example.com", std::string(150, 's'), std::string(body, 'b'), extra));
    TestReportFacts facts;
    for (int i = 0; i < 30; ++i) facts.actions.emplace_back(300, 'a');
    facts.outcome = "x";
    const v1::MessageRecord report = BuildTestReport(in, facts, {kTest, "gw", 0});
    EXPECT_LE(report.message().size(), std::max(in.message().size(), kReportFloorBytes)) << body;
    EXPECT_NE(report.message().find("[report shortened"), std::string::npos) << body;
  }
}

// --------------------------------------------------------------- processor

struct TestAddressHarness {
  explicit TestAddressHarness(const TestAddressConfig& config = Enabled()) {
    h.AddCast();
    h.keys.SetHostedDomains({{"example.com", "acme"}});
    processor = std::make_unique<TestAddressProcessor>(
        config, "gw.example.com", std::move(h.processor), h.keys, h.registry, h.clock);
  }
  static TestAddressConfig Enabled() {
    TestAddressConfig c;
    c.enabled = true;
    c.address = kTest;
    c.per_sender = {2, std::chrono::hours(1)};
    return c;
  }
  std::vector<v1::MessageRecord> Run(v1::MessageRecord r) {
    auto out = processor->Process(std::move(r));
    EXPECT_TRUE(out.ok()) << out.error().ToString();
    return out.ok() ? *out : std::vector<v1::MessageRecord>{};
  }
  double Count(const std::string& result) {
    return h.registry.AddCounter("smimegate_test_address_messages_total", "", {"result"})
        .WithLabels({result})
        .Value();
  }
  Harness h;
  std::unique_ptr<TestAddressProcessor> processor;
};

const v1::MessageRecord* ReportIn(const std::vector<v1::MessageRecord>& outputs) {
  for (const auto& o : outputs) {
    if (o.form_id() == "test-report") return &o;
  }
  return nullptr;
}

bool DeliversTo(const std::vector<v1::MessageRecord>& outputs, const std::string& rcpt) {
  for (const auto& o : outputs) {
    for (const auto& r : o.envelope().recipients()) {
      if (r.address() == rcpt && o.form_id() != "test-report") return true;
    }
  }
  return false;
}

TEST(TestAddressProcessor, OutboundReportNamesThePolicyActionOthersProcessedAsUsual) {
  TestAddressHarness t;
  auto out = t.Run(Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {kTest, "carol@example.org"},
                          TextMessage("alice@example.com", "check [noenc]")));
  const v1::MessageRecord* report = ReportIn(out);
  ASSERT_NE(report, nullptr);
  EXPECT_FALSE(DeliversTo(out, kTest)) << "the test address is never delivered to";
  EXPECT_TRUE(DeliversTo(out, "carol@example.org"));
  const std::string& m = report->message();
  EXPECT_NE(m.find("  signed (rule: "), std::string::npos) << m;
  EXPECT_NE(m.find("tags=noenc"), std::string::npos) << m;
  EXPECT_NE(m.find("Tenant:             acme (sender domain example.com)"), std::string::npos) << m;
  EXPECT_EQ(report->envelope().recipients(0).address(), "alice@example.com");
  EXPECT_EQ(t.Count("answered"), 1);
}

TEST(TestAddressProcessor, InboundPlainMailIsPassedAndAnsweredOutward) {
  TestAddressHarness t;
  auto out = t.Run(Record(v1::DIRECTION_INBOUND, "peer@remote.example", {kTest},
                          TextMessage("peer@remote.example", "hello")));
  ASSERT_EQ(out.size(), 1u);
  const v1::MessageRecord* report = ReportIn(out);
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(report->envelope().direction(), v1::DIRECTION_OUTBOUND);
  EXPECT_NE(report->message().find("  passed"), std::string::npos) << report->message();
  EXPECT_NE(report->message().find("acme (recipient domain example.com)"), std::string::npos);
}

TEST(TestAddressProcessor, NoReportToNullSenderAutomaticMailOrLoops) {
  TestAddressHarness t;
  auto msg = [](const std::string& extra) {
    return TextMessage("alice@example.com", "x", "b\r\n", extra);
  };
  EXPECT_TRUE(t.Run(Record(v1::DIRECTION_INBOUND, "", {kTest}, msg(""))).empty());
  EXPECT_TRUE(t.Run(Record(v1::DIRECTION_INBOUND, "peer@remote.example", {kTest},
                           msg("Auto-Submitted: auto-replied\r\n")))
                  .empty());
  EXPECT_TRUE(t.Run(Record(v1::DIRECTION_INBOUND, "peer@remote.example", {kTest},
                           msg("Precedence: bulk\r\n")))
                  .empty());
  // Our own report, fed back in (a forwarding loop): not answered.
  auto first = t.Run(Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {kTest}, msg("")));
  ASSERT_NE(ReportIn(first), nullptr);
  v1::MessageRecord back = *ReportIn(first);
  back.mutable_envelope()->set_mail_from("alice@example.com");
  back.mutable_envelope()->mutable_recipients(0)->set_address(kTest);
  EXPECT_TRUE(t.Run(back).empty());
  EXPECT_EQ(t.Count("null_sender"), 1);
  EXPECT_EQ(t.Count("auto_submitted"), 2);
  EXPECT_EQ(t.Count("loop"), 1);
  EXPECT_EQ(t.Count("answered"), 1);
}

TEST(TestAddressProcessor, RateLimitedPerSenderAndRefilled) {
  TestAddressHarness t;  // 2 per sender per hour
  auto from = [](const std::string& sender) {
    return Record(v1::DIRECTION_INBOUND, sender, {kTest}, TextMessage(sender, "x"));
  };
  EXPECT_NE(ReportIn(t.Run(from("peer@remote.example"))), nullptr);
  EXPECT_NE(ReportIn(t.Run(from("PEER@remote.example"))), nullptr);
  EXPECT_EQ(ReportIn(t.Run(from("peer@remote.example"))), nullptr) << "third within the hour";
  EXPECT_NE(ReportIn(t.Run(from("other@remote.example"))), nullptr) << "each sender its own";
  EXPECT_EQ(t.Count("rate_limited"), 1);
  t.h.clock.Advance(std::chrono::minutes(31));  // half an hour: one back
  EXPECT_NE(ReportIn(t.Run(from("peer@remote.example"))), nullptr);
}

TEST(TestAddressProcessor, ProcessTotalCapsAllSenders) {
  TestAddressConfig c = TestAddressHarness::Enabled();
  c.total = {3, std::chrono::hours(1)};
  TestAddressHarness t(c);
  int answered = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string sender = "s" + std::to_string(i) + "@remote.example";
    if (ReportIn(t.Run(Record(v1::DIRECTION_INBOUND, sender, {kTest}, TextMessage(sender, "x"))))) {
      ++answered;
    }
  }
  EXPECT_EQ(answered, 3);
}

TEST(TestAddressProcessor, DisabledDeliversLikeAnyRecipient) {
  TestAddressConfig off;
  TestAddressHarness t(off);
  auto out = t.Run(Record(v1::DIRECTION_INBOUND, "peer@remote.example", {kTest},
                          TextMessage("peer@remote.example", "hello")));
  EXPECT_EQ(ReportIn(out), nullptr);
  EXPECT_TRUE(DeliversTo(out, kTest));
}

TEST(TestAddressProcessor, ForcedEncryptionWithoutCertificateReportsTheBounce) {
  TestAddressHarness t;
  auto out = t.Run(Record(v1::DIRECTION_OUTBOUND, "alice@example.com", {kTest},
                          TextMessage("alice@example.com", "[confidential] check")));
  ASSERT_EQ(out.size(), 1u) << "the report only: no DSN, nothing delivered";
  const v1::MessageRecord* report = ReportIn(out);
  ASSERT_NE(report, nullptr);
  EXPECT_NE(report->message().find("Result:             not delivered: returned to the sender"),
            std::string::npos)
      << report->message();
  EXPECT_NE(report->message().find("5.7.1"), std::string::npos);
}

}  // namespace
}  // namespace sg::workers::testing
