#include "common/result.h"

#include <gtest/gtest.h>

namespace sg {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return MakeError(ErrorCode::kInvalidArgument, "odd");
  return v / 2;
}

Status Check(int v) {
  SG_ASSIGN_OR_RETURN(int h, Half(v));
  if (h > 10) return MakeError(ErrorCode::kResourceExhausted, "too big");
  return OkStatus();
}

TEST(Result, ValueAndErrorWhenTheyAreThere) {
  EXPECT_EQ(Half(8).value(), 4);
  EXPECT_EQ(Half(3).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Half(3).error().ToString(), "invalid_argument: odd");
  EXPECT_TRUE(Check(4).ok());
  EXPECT_EQ(Check(3).error().message, "odd");
  EXPECT_EQ(Check(40).error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(Half(3).value_or(-1), -1);
}

// Misuse is a bug in every build type (the suite runs in Release, where an
// assert() would be compiled out): reading what is not there aborts.
TEST(ResultDeathTest, ErrorOfASuccessAborts) {
  EXPECT_DEATH(Half(8).error(), "");
  Result<int> ok = 4;
  EXPECT_DEATH((void)ok.error().message.size(), "");
  EXPECT_DEATH(OkStatus().error(), "");
  Status fine;
  EXPECT_DEATH((void)fine.error().message.size(), "");
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) { EXPECT_DEATH((void)Half(3).value(), ""); }

TEST(Result, PermitUncheckedErrorIsTheExplicitIgnore) {
  // Compiles without a warning under -Werror although Result is [[nodiscard]].
  Half(3).PermitUncheckedError();
  Check(3).PermitUncheckedError();
  SUCCEED();
}

}  // namespace
}  // namespace sg

// A Result<bool> has no conversion to bool: `if (verify_result)` would test
// "no error", not the answer, and once let a wrong password through.
static_assert(!std::is_constructible_v<bool, sg::Result<bool>>);
static_assert(std::is_constructible_v<bool, sg::Result<int>>);
static_assert(std::is_constructible_v<bool, sg::Status>);
