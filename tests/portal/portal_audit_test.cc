// The audit trail (portal_audit.h): control characters in a field cannot
// forge a log line or a record (review L8); records older than
// portal.audit_retention go in the expiry run (M5).
#include "portal/portal_audit.h"

#include <gtest/gtest.h>

#include "portal/portal_expiry.h"
#include "portal/portal_store_memory.h"
#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

TEST(PortalAudit, ControlCharactersAreEscapedInEveryField) {
  EXPECT_EQ(AuditField("plain name.pdf"), "plain name.pdf");
  EXPECT_EQ(AuditField("a\r\nportal audit event=login"), "a\\x0d\\x0aportal audit event=login");
  EXPECT_EQ(AuditField(std::string("nul\0x\x1b[31m\x7f", 11)), "nul\\x00x\\x1b[31m\\x7f");
  EXPECT_EQ(AuditField("back\\x0a"), "back\\\\x0a");  // an escape cannot be faked
  EXPECT_EQ(AuditField("Gr\xc3\xbc\xc3\x9f" "e"), "Gr\xc3\xbc\xc3\x9f" "e");  // UTF-8 stays

  testing::FakeClock clock;
  MemoryPortalStore store;
  Audit audit(store, clock);
  audit.Record("download", "bob@partner.example", "192.0.2.1", "0001",
               "evil.pdf\r\nportal audit event=login address=<alice@corp.example>");
  auto records = store.ListAudit(10);
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].detail().find('\n'), std::string::npos);
  EXPECT_EQ((*records)[0].detail().find('\r'), std::string::npos);
}

TEST(PortalAudit, TheExpiryRunDeletesRecordsPastTheRetention) {
  testing::FakeClock clock;
  MemoryPortalStore store;
  Audit audit(store, clock);
  PortalConfig config;  // audit_retention: 180 days
  audit.Record("login", "bob@partner.example", "192.0.2.1");
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::hours(24 * 100)).count());
  audit.Record("logout", "bob@partner.example", "192.0.2.1");
  clock.AdvanceMs(std::chrono::milliseconds(std::chrono::hours(24 * 81)).count());
  auto first = RunExpiry(store, config, clock, nullptr);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->audit, 1u);
  auto left = store.ListAudit(10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].event(), "logout");
}

}  // namespace
}  // namespace sg::portal
