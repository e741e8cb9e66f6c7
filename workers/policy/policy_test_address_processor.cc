#include "workers/policy/policy_test_address_processor.h"

#include <optional>

#include "common/ascii.h"
#include "common/mail/address.h"
#include "common/message_log.h"
#include "workers/policy/policy_test_address_screen.h"
#include "workers/policy/policy_verification.h"
#include "workers/smime/smime_mime.h"

namespace sg::workers {
namespace v1 = smimegate::v1;
namespace {

bool IsTestAddress(const v1::Recipient& rcpt, const std::string& test_address) {
  auto normalized = mail::NormalizeAddress(rcpt.address());
  return normalized.ok() && *normalized == test_address;
}

// The diagnostic of a DSN the policy produced ("550 5.7.1 ...").
std::string DsnDiagnostic(const std::string& dsn) {
  const std::string key = "Diagnostic-Code: smtp; ";
  const size_t at = dsn.find(key);
  if (at == std::string::npos) return "returned to the sender";
  const size_t end = dsn.find("\r\n", at);
  return dsn.substr(at + key.size(),
                    end == std::string::npos ? std::string::npos : end - at - key.size());
}

void Log(const v1::MessageRecord& record, std::string_view result) {
  log::MessageEvent("test_address", record.envelope())
      .Field("from", record.envelope().mail_from())
      .Field("result", result)
      .Info();
}

}  // namespace

TestAddressProcessor::TestAddressProcessor(TestAddressConfig config, std::string reporting_mta,
                                           std::unique_ptr<MessageProcessor> inner,
                                           keyservice::KeyService& keys,
                                           metrics::Registry& registry, const Clock& clock)
    : config_(std::move(config)),
      reporting_mta_(std::move(reporting_mta)),
      inner_(std::move(inner)),
      keys_(keys),
      metrics_(registry),
      clock_(clock),
      per_sender_(config_.per_sender),
      total_(config_.total) {}

Result<std::vector<v1::MessageRecord>> TestAddressProcessor::Process(v1::MessageRecord record) {
  if (!config_.enabled || record.envelope().origin() == v1::ORIGIN_PORTAL) {
    return inner_->Process(std::move(record));
  }
  std::vector<v1::Recipient> others;
  std::optional<v1::Recipient> test;
  for (const auto& r : record.envelope().recipients()) {
    if (!IsTestAddress(r, config_.address)) {
      others.push_back(r);
    } else if (!test) {
      test = r;  // a repeated test address is the same mailbox
    }
  }
  if (!test) return inner_->Process(std::move(record));

  v1::MessageRecord alone = record;
  alone.mutable_envelope()->clear_recipients();
  *alone.mutable_envelope()->add_recipients() = *test;
  SG_ASSIGN_OR_RETURN(std::vector<v1::MessageRecord> outputs, Answer(alone));
  if (others.empty()) return outputs;
  record.mutable_envelope()->clear_recipients();
  for (auto& r : others) *record.mutable_envelope()->add_recipients() = std::move(r);
  SG_ASSIGN_OR_RETURN(std::vector<v1::MessageRecord> rest, inner_->Process(std::move(record)));
  for (auto& r : rest) outputs.push_back(std::move(r));
  return outputs;
}

bool TestAddressProcessor::TakeToken(const std::string& sender) {
  const int64_t now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  // The sender's own allowance first: one flooding sender does not use up
  // the process's allowance for everybody else.
  return per_sender_.Allow(sender, now) && total_.Allow("", now);
}

Result<std::vector<v1::MessageRecord>> TestAddressProcessor::Answer(const v1::MessageRecord& test) {
  const TestScreen screen = ScreenTestMessage(test, config_.address, smime::MimeLimits{});
  if (screen != TestScreen::kAnswer) {
    metrics_.Message(TestScreenName(screen));
    Log(test, TestScreenName(screen));
    return std::vector<v1::MessageRecord>{};
  }
  const std::string sender = mail::NormalizeAddress(test.envelope().mail_from())
                                 .value_or(AsciiLower(test.envelope().mail_from()));
  if (!TakeToken(sender)) {
    metrics_.Message("rate_limited");
    Log(test, "rate_limited");
    return std::vector<v1::MessageRecord>{};
  }
  TestReportFacts facts;
  auto dry = inner_->Process(test);
  if (!dry.ok()) {
    if (IsTransient(dry.error().code)) return dry.error();
    facts.outcome =
        "not delivered: a real recipient's copy would be kept for the administrator "
        "(dead-letter topic); the gateway's log has the reason for queue id " +
        test.envelope().message_id();
  } else {
    for (const auto& out : *dry) {
      if (out.set_aside_until_ms() != 0) return std::vector<v1::MessageRecord>{out};
    }
    ReadDryRun(*dry, facts);
  }
  FindTenant(test.envelope(), facts);
  TestReportContext context{config_.address, reporting_mta_, clock_.NowMs()};
  metrics_.Message("answered");
  Log(test, "answered");
  return std::vector<v1::MessageRecord>{BuildTestReport(test, facts, context)};
}

void TestAddressProcessor::ReadDryRun(const std::vector<v1::MessageRecord>& outputs,
                                      TestReportFacts& facts) const {
  std::vector<std::string> forms;
  for (const auto& out : outputs) {
    if (out.form_id() == "dsn") {
      const std::string why = DsnDiagnostic(out.message());
      facts.actions.push_back("bounce: " + why);
      facts.outcome = "not delivered: returned to the sender with a DSN (" + why + ")";
      return;
    }
    if (!out.hold_reason().empty()) {
      facts.actions.emplace_back("held");
      facts.outcome = "not delivered: kept for the administrator, no DSN";
      return;
    }
    for (const auto& n : out.notes()) {
      if (n.detail() != config_.address) continue;
      std::string line = n.action();
      if (!n.rule().empty()) line += " (rule: " + n.rule() + ")";
      if (out.destination() == v1::DESTINATION_PORTAL) line += ", to the web-encryption portal";
      facts.actions.push_back(std::move(line));
      forms.push_back(n.action());
    }
    auto top = smime::ParseEntity(out.message(), smime::MimeLimits{});
    if (!top.ok()) continue;
    for (const auto& f : top->fields) {
      if (smime::NameIs(f.name, kVerificationHeader)) {
        facts.verification.push_back(smime::FieldValue(f));
      }
    }
  }
  std::string joined;
  for (const auto& f : forms) joined += (joined.empty() ? "" : ", ") + f;
  facts.outcome =
      forms.empty() ? "nothing would be delivered" : "a recipient here would receive it " + joined;
}

void TestAddressProcessor::FindTenant(const v1::Envelope& env, TestReportFacts& facts) {
  // Outbound mail belongs to the sender's tenant, inbound mail to the
  // recipient's (here: the test address's).
  const bool outbound = env.direction() == v1::DIRECTION_OUTBOUND;
  const std::string domain =
      mail::DomainOf(outbound ? AsciiLower(env.mail_from()) : config_.address);
  auto domains = keys_.TenantDomains();
  if (!domains.ok()) {
    facts.tenant_note = "unknown: the keyservice's domain registry did not answer";
    return;
  }
  for (const auto& d : *domains) {
    if (d.name == domain) {
      facts.tenant = d.tenant;
      facts.tenant_note = (outbound ? "sender domain " : "recipient domain ") + domain;
      return;
    }
  }
  facts.tenant_note = domain + " is not a hosted domain";
}

}  // namespace sg::workers
