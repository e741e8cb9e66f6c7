// The housekeeping pass of the portal service (review R11): an error or an
// exception out of the expiry is logged and counted, never thrown (an
// exception on the housekeeping thread was std::terminate of `smimegate run`).
#include "portal/portal_expiry.h"

#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "common/metrics.h"
#include "portal/portal_store_memory.h"
#include "tests/support/fake_clock.h"

namespace sg::portal {
namespace {

TEST(PortalExpiry, AHousekeepingPassThatThrowsIsCaughtAndCounted) {
  metrics::Registry registry;
  PortalMetrics metrics(registry);
  EXPECT_FALSE(RunHousekeepingPass(
      []() -> Result<ExpiryReport> { throw std::runtime_error("store iterator broke"); },
      metrics.housekeeping_errors));
  EXPECT_FALSE(RunHousekeepingPass([]() -> Result<ExpiryReport> { throw std::bad_alloc(); },
                                   metrics.housekeeping_errors));
  EXPECT_EQ(metrics.housekeeping_errors.Value(), 2);
}

TEST(PortalExpiry, AFailedPassIsCountedAndAGoodOneIsNot) {
  metrics::Registry registry;
  PortalMetrics metrics(registry);
  EXPECT_FALSE(RunHousekeepingPass(
      []() -> Result<ExpiryReport> { return MakeError(ErrorCode::kIoError, "disk"); },
      metrics.housekeeping_errors));
  EXPECT_TRUE(RunHousekeepingPass([]() -> Result<ExpiryReport> { return ExpiryReport{}; },
                                  metrics.housekeeping_errors));
  EXPECT_EQ(metrics.housekeeping_errors.Value(), 1);
}

// Review R13: a message stored but never notified (its record was
// dead-lettered after the store write) gets its notification from the
// housekeeping once it is old enough; notified and young ones are left.
TEST(PortalExpiry, MessagesStoredButNeverNotifiedAreNotifiedLater) {
  sg::testing::FakeClock clock;
  MemoryPortalStore store;
  auto put = [&](const std::string& id, int64_t stored_at, bool notified) {
    pb::StoredMessage m;
    m.set_recipient("bob@p.example");
    m.set_id(id);
    m.set_source_key("q" + id);
    m.set_stored_at_ms(stored_at);
    m.set_expires_at_ms(stored_at + 1000000);
    m.set_notified(notified);
    ASSERT_TRUE(store.PutMessage(m, "c").ok());
  };
  const int64_t now = clock.NowMs();
  put("0001", now - 3600000, false);  // an hour ago, never notified
  put("0002", now - 3600000, true);
  put("0003", now - 1000, false);     // the intake may be at it right now
  std::vector<std::string> called;
  auto report = NotifyPending(store, clock, int64_t{15} * 60 * 1000, [&](const pb::StoredMessage& m) {
    called.push_back(m.id());
    return OkStatus();
  });
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(called, std::vector<std::string>{"0001"});
  EXPECT_EQ(report->notified, 1u);
}

}  // namespace
}  // namespace sg::portal
