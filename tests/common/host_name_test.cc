// sg::HostName (common/host_name.h): the kernel's node name, the fallback
// only when there is none.
#include "common/host_name.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>

namespace sg {
namespace {

TEST(HostNameTest, IsTheNodeNameAndFallsBackOnlyWithoutOne) {
  utsname uts{};
  ASSERT_EQ(::uname(&uts), 0);
  const std::string node = uts.nodename;
  if (node.empty()) {
    EXPECT_EQ(HostName("fallback"), "fallback");
  } else {
    EXPECT_EQ(HostName("fallback"), node);
    EXPECT_EQ(HostName(), node);
  }
}

}  // namespace
}  // namespace sg
