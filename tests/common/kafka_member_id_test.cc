// Static group membership (queue.kafka.static_membership): the
// group.instance.id each Kafka consumer of a process gets
// (common/kafka_member_id.h), and the configuration key.
#include "common/kafka_member_id.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <set>
#include <string>

#include "common/config_node.h"
#include "common/queue_config.h"

namespace sg::queue {
namespace {

TEST(KafkaMemberIdTest, NamesAreSanitisedToKafkasCharacters) {
  EXPECT_EQ(SanitizeGroupInstanceName("smimegate-egress-0"), "smimegate-egress-0");
  EXPECT_EQ(SanitizeGroupInstanceName("Host.Example_1"), "Host.Example_1");
  EXPECT_EQ(SanitizeGroupInstanceName("a b/c:d\xc3\xa9"), "a_b_c_d__");
  EXPECT_EQ(GroupInstanceId("pod 1", "egress/retry", 3), "pod_1-egress_retry-3");
}

TEST(KafkaMemberIdTest, ThePodNameComesFirstThenTheHostName) {
  auto pod = StaticMemberName("smimegate-egress-1", "node7");
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(*pod, "smimegate-egress-1");
  auto host = StaticMemberName("", "node7.example");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, "node7.example");
  auto none = StaticMemberName("", "");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("config queue.kafka.static_membership"), std::string::npos);
  EXPECT_NE(none.error().message.find("SMIMEGATE_POD_NAME"), std::string::npos);
}

TEST(KafkaMemberIdTest, LongNamesAreShortenedAndKeepTheirIndex) {
  const std::string pod(300, 'p');
  const std::string id0 = GroupInstanceId(pod, "workers", 0);
  const std::string id1 = GroupInstanceId(pod, "workers", 1);
  EXPECT_EQ(id0.size(), kMaxGroupInstanceIdLength);
  EXPECT_NE(id0, id1);
  EXPECT_EQ(id0.substr(id0.size() - 2), "-0");
  EXPECT_EQ(id1.substr(id1.size() - 2), "-1");
  EXPECT_EQ(GroupInstanceId(pod, "workers", 12345).size(), kMaxGroupInstanceIdLength);
}

TEST(KafkaMemberIdTest, EachConsumerOfAProcessGetsItsOwnStableId) {
  auto ids = [] {
    GroupInstanceIds g("smimegate-worker-0");
    std::vector<std::string> out;
    for (const char* group : {"workers", "workers", "egress", "workers", "egress-retry"}) {
      auto id = g.Next(group);
      EXPECT_TRUE(id.ok());
      out.push_back(id.ok() ? *id : "");
    }
    return out;
  };
  const auto first = ids();
  EXPECT_EQ(first, (std::vector<std::string>{
                       "smimegate-worker-0-workers-0", "smimegate-worker-0-workers-1",
                       "smimegate-worker-0-egress-0", "smimegate-worker-0-workers-2",
                       "smimegate-worker-0-egress-retry-0"}));
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), first.size());
  EXPECT_EQ(ids(), first);  // a restarted process creates them in the same order
}

TEST(KafkaMemberIdTest, TwoGroupsThatSanitiseAlikeAreRefused) {
  GroupInstanceIds g("pod");
  ASSERT_TRUE(g.Next("a/b").ok());
  auto clash = g.Next("a:b");
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(
      clash.error().message.find("consumer groups a/b and a:b would both get group.instance.id "
                                 "pod-a_b-0"),
      std::string::npos)
      << clash.error().message;
}

TEST(KafkaMemberIdTest, TheConfigurationKeyNamesTheProcess) {
  std::array<char*, 1> no_env{nullptr};
  auto parse = [&](const std::string& flag) {
    auto doc = config::ConfigDocument::LoadString(
        "queue:\n  type: kafka\n  kafka:\n    brokers: 127.0.0.1:1\n    static_membership: " +
            flag + "\n",
        "t.yaml", no_env.data());
    EXPECT_TRUE(doc.ok());
    auto section = doc->Root().Map("queue");
    EXPECT_TRUE(section.ok());
    return ParseQueueConfig(*section, "/tmp");
  };
  ASSERT_EQ(::setenv("SMIMEGATE_POD_NAME", "smimegate-egress-1", 1), 0);
  auto on = parse("true");
  ASSERT_TRUE(on.ok()) << on.error().ToString();
  EXPECT_EQ(on->kafka_static_member_name, "smimegate-egress-1");
  auto off = parse("false");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->kafka_static_member_name, "");
  ASSERT_EQ(::unsetenv("SMIMEGATE_POD_NAME"), 0);
  auto host = parse("true");  // the host name then
  ASSERT_TRUE(host.ok());
  EXPECT_FALSE(host->kafka_static_member_name.empty());
}

}  // namespace
}  // namespace sg::queue
