// Header-section reading for the SMTP steps: field counting (hop limit) and
// unfolded values (sender binding).
#include "ingress/ingress_headers.h"

#include <gtest/gtest.h>

namespace sg::ingress {
namespace {

TEST(IngressHeadersTest, CountsOnlyHeaderFieldsOfThatName) {
  const std::string msg =
      "Received: from a\r\n\tby b; date\r\n"
      "received : obsolete spacing\r\n"
      "X-Received: not this one\r\n"
      "Received-SPF: nor this\r\n"
      "RECEIVED: upper case\r\n"
      "Subject: s\r\n"
      "\r\n"
      "Received: in the body, not a header\r\n";
  EXPECT_EQ(CountHeaderFields(msg, "Received", 100), 3u);
  EXPECT_EQ(CountHeaderFields(msg, "Received", 2), 2u);  // stops at the limit
  EXPECT_EQ(CountHeaderFields("", "Received", 100), 0u);
  EXPECT_EQ(CountHeaderFields("Received: x", "Received", 100), 1u);  // no line end
}

TEST(IngressHeadersTest, ValuesAreUnfolded) {
  const std::string msg =
      "From: \"Alice\"\r\n <alice@example.com>\r\n"
      "To: b@example.org\r\n"
      "from: second@example.net\r\n"
      "\r\n"
      "From: body@example.com\r\n";
  auto v = HeaderFieldValues(msg, "From");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], " \"Alice\" <alice@example.com>");
  EXPECT_EQ(v[1], " second@example.net");
}

}  // namespace
}  // namespace sg::ingress
