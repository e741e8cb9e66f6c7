// Kafka client settings (issue 24): user properties that smimegate sets
// itself are refused by name (at config parsing and when the queue opens).
#include "common/kafka_properties.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "common/config_node.h"
#include "common/kafka_queue.h"
#include "common/queue_config.h"

namespace sg::queue {
namespace {

TEST(KafkaPropertiesTest, PropertiesSmimegateSetsAreRefusedByName) {
  EXPECT_TRUE(CheckKafkaProperties({{"security.protocol", "ssl"}, {"ssl.ca.location", "/ca.pem"}}).ok());
  for (const char* key : {"partition.assignment.strategy", "enable.auto.commit", "acks", "group.id",
                          "metadata.broker.list", "session.timeout.ms", "compression.codec",
                          "enable.partition.eof"}) {
    Status s = CheckKafkaProperties({{"ssl.ca.location", "/ca.pem"}, {key, "x"}});
    ASSERT_FALSE(s.ok()) << key;
    EXPECT_NE(s.error().message.find(std::string("queue.kafka.properties.") + key), std::string::npos)
        << s.error().message;
  }
  Status s = CheckKafkaProperties({{"session.timeout.ms", "3000"}});
  EXPECT_NE(s.error().message.find("use queue.kafka.session_timeout"), std::string::npos);
}

TEST(KafkaPropertiesTest, StaticMembershipIsRefused) {
  Status s = CheckKafkaProperties({{"group.instance.id", "egress-0"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(
      s.error().message.find("queue.kafka.properties.group.instance.id: one id would be shared"),
      std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("use queue.kafka.static_membership: true"), std::string::npos)
      << s.error().message;
}

TEST(KafkaPropertiesTest, ConfigurationAndOpenRefuseThem) {
  std::array<char*, 1> no_env{nullptr};
  auto doc = config::ConfigDocument::LoadString(
      "queue:\n  type: kafka\n  kafka:\n    brokers: 127.0.0.1:1\n    properties:\n"
      "      security.protocol: ssl\n      enable.auto.commit: \"true\"\n",
      "t.yaml", no_env.data());
  ASSERT_TRUE(doc.ok()) << doc.error().ToString();
  auto section = doc->Root().Map("queue");
  ASSERT_TRUE(section.ok());
  auto parsed = ParseQueueConfig(*section, "/tmp");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("queue.kafka.properties.enable.auto.commit"), std::string::npos)
      << parsed.error().message;

  KafkaQueueOptions o;
  o.brokers = "127.0.0.1:1";
  o.properties = {{"partition.assignment.strategy", "range"}};
  auto q = KafkaQueue::Open(o);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("partition.assignment.strategy"), std::string::npos);
}

}  // namespace
}  // namespace sg::queue
