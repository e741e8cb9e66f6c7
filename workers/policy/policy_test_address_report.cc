#include "workers/policy/policy_test_address_report.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/mail/date.h"
#include "common/mail/safe_field.h"
#include "common/message_log.h"
#include "workers/policy/policy_test_address_screen.h"
#include "workers/smime/smime_mime.h"

namespace sg::workers {
namespace v1 = smimegate::v1;
namespace {

constexpr size_t kValueMax = 200;  // one quoted value
constexpr size_t kColumn = 20;     // where values start
constexpr std::array<std::string_view, 6> kQuoted = {"From",    "To",   "Cc",
                                                     "Subject", "Date", "Message-ID"};

std::string Safe(const std::string& s, size_t max = kValueMax) { return mail::SafeField(s, max); }

// "Label:" padded to kColumn, then the value.
std::string Line(const std::string& label, const std::string& value) {
  std::string out = label + ":";
  out.append(out.size() < kColumn ? kColumn - out.size() : 1, ' ');
  return out + value + "\r\n";
}

std::string DirectionText(v1::Direction d) {
  if (d == v1::DIRECTION_OUTBOUND) return "outbound (from the organisation to the internet)";
  if (d == v1::DIRECTION_INBOUND) return "inbound (from the internet to a hosted domain)";
  return "unspecified";
}

std::string ClientText(const v1::ClientInfo& c) {
  std::string out = c.ip().empty() ? "unknown" : Safe(c.ip(), 64);
  if (c.port() != 0) out += " port " + std::to_string(c.port());
  if (!c.helo().empty()) out += ", HELO " + Safe(c.helo(), 100);
  if (!c.reverse_name().empty()) out += ", reverse name " + Safe(c.reverse_name(), 100);
  return out;
}

std::string TlsText(const v1::TlsInfo& t) {
  if (!t.active()) return "none (the message came over an unencrypted connection)";
  std::string out = t.version().empty() ? "active" : Safe(t.version(), 32);
  if (!t.cipher().empty()) out += ", " + Safe(t.cipher(), 100);
  return out;
}

std::string ClientCertText(const v1::TlsInfo& t) {
  if (t.peer_subject().empty()) return "none";
  return Safe(t.peer_subject()) + (t.peer_verified() ? " (verified)" : " (not verified)");
}

// The body lines in order of importance: everything after the arrival
// facts may be cut to keep the report small.
std::vector<std::string> BodyLines(const v1::MessageRecord& original, const TestReportFacts& f,
                                   const TestReportContext& c) {
  const v1::Envelope& env = original.envelope();
  std::vector<std::string> lines;
  lines.push_back("This is the test address <" + Safe(c.test_address) + "> of the S/MIME gateway " +
                  Safe(c.reporting_mta, 100) + ".\r\n");
  lines.emplace_back(
      "Your message was answered with this report and not delivered to the test\r\n"
      "address; its other recipients, if any, were processed as usual.\r\n\r\n");
  lines.push_back(Line("Queue id", Safe(env.message_id(), 100)));
  if (!env.header_message_id().empty())
    lines.push_back(Line("Message-ID", Safe(env.header_message_id())));
  if (env.received_at_ms() > 0)
    lines.push_back(Line("Received", mail::Rfc5322Date(env.received_at_ms())));
  lines.push_back(Line("Direction", DirectionText(env.direction())));
  lines.push_back(Line("Listener", env.listener().empty() ? "-" : Safe(env.listener(), 64)));
  lines.push_back(Line("Client", ClientText(env.client())));
  lines.push_back(Line("TLS", TlsText(env.tls())));
  lines.push_back(Line("Client certificate", ClientCertText(env.tls())));
  lines.push_back(
      Line("SMTP AUTH", env.auth_identity().empty() ? "none" : Safe(env.auth_identity())));
  lines.push_back(Line("Envelope sender", "<" + Safe(env.mail_from()) + ">"));
  lines.push_back(
      Line("Tenant", (f.tenant.empty() ? "none" : Safe(f.tenant, 100)) +
                         (f.tenant_note.empty() ? "" : " (" + Safe(f.tenant_note) + ")")));
  lines.push_back("\r\nWhat the gateway does with this message for <" + Safe(c.test_address) +
                  "> (the policy, run as for any recipient):\r\n");
  if (f.actions.empty()) lines.emplace_back("  (no policy action)\r\n");
  for (const auto& a : f.actions) lines.push_back("  " + Safe(a, 400) + "\r\n");
  lines.push_back(Line("Result", Safe(f.outcome, 400)));
  if (!f.verification.empty())
    lines.emplace_back("\r\nS/MIME layers found (X-Smimegate-Verification):\r\n");
  for (const auto& v : f.verification) lines.push_back("  " + Safe(v, 400) + "\r\n");
  return lines;
}

std::vector<std::string> QuotedHeaderLines(const std::string& message) {
  std::vector<std::string> lines;
  auto top = smime::ParseEntity(message, smime::MimeLimits{});
  if (!top.ok()) return lines;
  lines.emplace_back("\r\nHeader fields of your message:\r\n");
  for (std::string_view name : kQuoted) {
    for (const auto& field : top->fields) {
      if (smime::NameIs(field.name, name)) {
        lines.push_back("  " + std::string(name) + ": " + Safe(smime::FieldValue(field)) + "\r\n");
      }
    }
  }
  return lines;
}

std::string SubjectOf(const std::string& message) {
  auto top = smime::ParseEntity(message, smime::MimeLimits{});
  if (!top.ok()) return "";
  const smime::HeaderField* f = smime::FindField(*top, "Subject");
  return f == nullptr ? "" : Safe(smime::FieldValue(*f), 120);
}

}  // namespace

v1::MessageRecord BuildTestReport(const v1::MessageRecord& original, const TestReportFacts& facts,
                                  const TestReportContext& context) {
  const v1::Envelope& env = original.envelope();
  const std::string id = env.message_id() + ".test-report";
  const std::string mta = Safe(context.reporting_mta, 100);
  const std::string subject = SubjectOf(original.message());
  std::string m;
  m += "From: smimegate test address <" + Safe(context.test_address) + ">\r\n";
  m += "To: <" + Safe(env.mail_from(), 512) + ">\r\n";
  m += "Subject: Test report" + (subject.empty() ? std::string() : ": " + subject) + "\r\n";
  m += "Date: " + mail::Rfc5322Date(context.now_ms) + "\r\n";
  m += "Message-ID: <" + Safe(id, 200) + "@" + mta + ">\r\n";
  const std::string reply_to = Safe(env.header_message_id(), 500);
  if (!reply_to.empty()) {
    m += "In-Reply-To: " + reply_to + "\r\nReferences: " + reply_to + "\r\n";
  }
  m += "Auto-Submitted: auto-replied\r\n";
  m += std::string(kTestReportHeader) + ": " + mta + "\r\n";
  m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: 7bit\r\n\r\n";

  // Never larger than the message answered (or the floor): cut from the end.
  const size_t limit = std::max(original.message().size(), kReportFloorBytes);
  std::vector<std::string> lines = BodyLines(original, facts, context);
  for (auto& l : QuotedHeaderLines(original.message())) lines.push_back(std::move(l));
  const std::string cut = "[report shortened: it is never larger than your message]\r\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    const bool last = i + 1 == lines.size();
    if (m.size() + lines[i].size() + (last ? 0 : cut.size()) > limit) {
      m += cut;
      break;
    }
    m += lines[i];
  }

  v1::MessageRecord report;
  auto* renv = report.mutable_envelope();
  renv->set_message_id(id);
  renv->set_direction(env.direction() == v1::DIRECTION_INBOUND ? v1::DIRECTION_OUTBOUND
                                                               : v1::DIRECTION_INBOUND);
  renv->set_listener("test-address");
  renv->set_mail_from("");  // RFC 3834 3.3: never answered, never bounced
  auto* r = renv->add_recipients();
  r->set_address(env.mail_from());
  r->set_notify_given(true);
  r->mutable_notify()->set_never(true);
  renv->set_smtputf8(env.smtputf8());
  renv->set_received_at_ms(context.now_ms);
  renv->set_header_message_id("<" + id + "@" + mta + ">");
  report.set_message(std::move(m));
  report.set_form_id("test-report");
  auto* note = report.add_notes();
  note->set_action("test_report");
  note->set_detail("test address report for " + env.message_id());
  return report;
}

}  // namespace sg::workers
