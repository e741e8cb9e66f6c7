// The housekeeping pass of the portal service (review R11): an error or an
// exception out of the expiry is logged and counted, never thrown (an
// exception on the housekeeping thread was std::terminate of `smimegate run`).
#include "portal/portal_expiry.h"

#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "common/metrics.h"

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

}  // namespace
}  // namespace sg::portal
