// The status endpoint keeps its port to itself: a second server on a taken
// port fails naming it (cpp-httplib's default SO_REUSEPORT let both bind).
#include "common/status_server.h"

#include <gtest/gtest.h>

namespace sg {
namespace {

TEST(StatusServerTest, SecondServerOnATakenPortFailsNamingIt) {
  metrics::Registry registry;
  StatusServer first(StatusServerConfig{"127.0.0.1", 0}, registry);
  ASSERT_TRUE(first.Start().ok());
  StatusServer second(StatusServerConfig{"127.0.0.1", first.port()}, registry);
  auto st = second.Start();
  ASSERT_FALSE(st.ok()) << "two servers share port " << first.port();
  EXPECT_NE(st.error().message.find("127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << st.error().message;
  first.Stop();
  // Once it is free again (old connections may linger: SO_REUSEADDR), it binds.
  StatusServer third(StatusServerConfig{"127.0.0.1", first.port()}, registry);
  EXPECT_TRUE(third.Start().ok());
  third.Stop();
}

}  // namespace
}  // namespace sg
