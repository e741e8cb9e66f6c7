#include "workers/policy/policy_test_address_screen.h"

#include "common/ascii.h"
#include "common/mail/address.h"

namespace sg::workers {
namespace {

// RFC 3834 section 2: senders that are mailing lists or the mail system.
bool AutomaticSender(const std::string& sender) {
  const std::string local = AsciiLower(sender.substr(0, sender.rfind('@')));
  return local == "mailer-daemon" || local == "postmaster" || local.starts_with("owner-") ||
         local.ends_with("-request") || local.ends_with("-bounces");
}

bool AutomaticHeader(const smime::MimeEntity& top) {
  for (const auto& f : top.fields) {
    if (smime::NameIs(f.name, kTestReportHeader) || smime::NameIs(f.name, "List-Id")) return true;
    const std::string value = AsciiLower(smime::FieldValue(f));
    if (smime::NameIs(f.name, "Auto-Submitted") && !value.starts_with("no")) return true;
    if (smime::NameIs(f.name, "Precedence") &&
        (value == "bulk" || value == "list" || value == "junk")) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view TestScreenName(TestScreen screen) {
  switch (screen) {
    case TestScreen::kAnswer:
      return "answer";
    case TestScreen::kNullSender:
      return "null_sender";
    case TestScreen::kAutoSubmitted:
      return "auto_submitted";
    case TestScreen::kLoop:
      return "loop";
  }
  return "unknown";
}

TestScreen ScreenTestMessage(const smimegate::v1::MessageRecord& record,
                             std::string_view test_address, const smime::MimeLimits& limits) {
  const std::string& sender = record.envelope().mail_from();
  if (sender.empty()) return TestScreen::kNullSender;
  auto normalized = mail::NormalizeAddress(sender);
  if (normalized.ok() && *normalized == test_address) return TestScreen::kLoop;
  auto top = smime::ParseEntity(record.message(), limits);
  if (!top.ok()) return TestScreen::kAutoSubmitted;
  if (smime::FindField(*top, kTestReportHeader) != nullptr) return TestScreen::kLoop;
  if (AutomaticHeader(*top) || AutomaticSender(sender)) return TestScreen::kAutoSubmitted;
  return TestScreen::kAnswer;
}

}  // namespace sg::workers
