// The status endpoint keeps its port to itself: a second server on a taken
// port fails naming it (cpp-httplib's default SO_REUSEPORT let both bind).
#include "common/status_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

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

// Documents other components publish (the keyservice's /ca.crl): the body
// with its type; an error is 503 when transient, else 404, with its text.
TEST(StatusServerTest, DocumentsAreServedAndTheirErrorsMapped) {
  metrics::Registry registry;
  StatusServer server(StatusServerConfig{"127.0.0.1", 0}, registry);
  int calls = 0;
  server.AddDocument("/ca.crl", "application/pkix-crl", [&calls]() -> Result<std::string> {
    ++calls;
    if (calls == 2) return MakeError(ErrorCode::kUnavailable, "the keyservice is not running");
    if (calls == 3) return MakeError(ErrorCode::kUnsupported, "no CRL here");
    return std::string("\x30\x03\x02\x01\x00", 5);
  });
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  auto r = client.Get("/ca.crl");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::string("\x30\x03\x02\x01\x00", 5));
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/pkix-crl");
  r = client.Get("/ca.crl");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("not running"), std::string::npos);
  r = client.Get("/ca.crl");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  server.Stop();
}

}  // namespace
}  // namespace sg
