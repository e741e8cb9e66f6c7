// common/dns/dns_server_address.h: the one parser of every `*.dns.servers`
// key (egress, keyservice, workers.discovery): IP literals with an optional
// port, host names refused, errors that name the key and the entry.
#include "common/dns/dns_server_address.h"

#include <gtest/gtest.h>

namespace sg::dns {
namespace {

TEST(ServerAddress, AcceptedForms) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  };
  for (const Case& c :
       {Case{"192.0.2.1", "192.0.2.1", 53}, Case{"127.0.0.1:5353", "127.0.0.1", 5353},
        Case{"::1", "::1", 53}, Case{"[::1]", "::1", 53},
        Case{"[2001:db8::53]:5353", "2001:db8::53", 5353}}) {
    auto s = ParseServerAddress(c.text);
    ASSERT_TRUE(s.ok()) << c.text << ": " << s.error().message;
    EXPECT_EQ(s->host, c.host) << c.text;
    EXPECT_EQ(s->port, c.port) << c.text;
  }
}

TEST(ServerAddress, RefusedForms) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"resolver.example", "not an IP address"},
                        Case{"resolver.example:53", "not an IP address"},
                        Case{"", "not an IP address"}, Case{"[::1", "no closing ]"},
                        Case{"[::1]53", "text after ]"}, Case{"127.0.0.1:0", "bad port"},
                        Case{"127.0.0.1:65536", "bad port"}, Case{"127.0.0.1:5x", "bad port"}}) {
    auto s = ParseServerAddress(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << c.text;
    EXPECT_NE(s.error().message.find(c.why), std::string::npos)
        << c.text << ": " << s.error().message;
    EXPECT_NE(s.error().message.find("expected an IP address"), std::string::npos)
        << "the error says what is expected: " << s.error().message;
  }
}

Result<std::vector<Server>> ListOf(const std::string& yaml) {
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  SG_ASSIGN_OR_RETURN(auto egress, doc->Root().Map("egress"));
  SG_ASSIGN_OR_RETURN(auto section, egress.Map("dns"));
  return ParseServerList(section);
}

TEST(ServerList, ParsesEveryEntryAndNamesKeyAndEntryInErrors) {
  auto none = ListOf("egress: {}\n");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty()) << "no key: /etc/resolv.conf";

  auto two = ListOf("egress: {dns: {servers: ['127.0.0.1:5353', '[::1]']}}\n");
  ASSERT_TRUE(two.ok()) << two.error().message;
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].port, 5353);
  EXPECT_EQ((*two)[1].host, "::1");

  auto bad = ListOf("egress: {dns: {servers: ['127.0.0.1', 'ns1.example']}}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("egress.dns.servers"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("entry 1"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("\"ns1.example\": not an IP address"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace sg::dns
