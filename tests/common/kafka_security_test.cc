// Kafka over TLS and SASL (issue 14): the queue.kafka.properties settings
// reach librdkafka (consumers are built from the same base configuration as
// the producer, common/kafka_queue.cc BaseConf). The mock cluster
// the other Kafka tests use cannot speak TLS, so this shows librdkafka
// taking (and checking) the settings, not a TLS session.
#include <gtest/gtest.h>

#include <fstream>

#include "common/config_node.h"
#include "common/kafka_queue.h"
#include "common/queue_config.h"
#include "tests/support/temp_dir.h"

namespace sg::queue {
namespace {

// queue.kafka.properties from YAML, through the config parser, into the
// librdkafka client KafkaQueue creates (no broker is contacted).
Result<std::unique_ptr<KafkaQueue>> Open(const std::string& properties) {
  std::string yaml = "queue:\n  type: kafka\n  kafka:\n    brokers: 127.0.0.1:1\n"
                     "    create_topics: false\n    properties:\n" + properties;
  auto doc = config::ConfigDocument::LoadString(yaml, "test.yaml");
  if (!doc.ok()) return doc.error();
  auto section = doc->Root().Map("queue");
  if (!section.ok()) return section.error();
  auto config = ParseQueueConfig(*section, "/tmp");
  if (!config.ok()) return config.error();
  KafkaQueueOptions options;
  options.brokers = config->kafka_brokers;
  options.properties = config->kafka_properties;
  options.create_topics = false;
  return KafkaQueue::Open(options);
}

// A PEM file librdkafka accepts as ssl.ca.location.
std::string CaFile(const sg::testing::TempDir& dir) {
  std::string path = dir.Sub("ca.pem");
  int rc = std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                        "-keyout " + dir.Sub("ca.key") + " -out " + path +
                        " -subj /CN=kafka-ca -days 2 2>/dev/null").c_str());
  EXPECT_EQ(rc, 0);
  return path;
}

TEST(KafkaSecurityTest, SslSettingsReachLibrdkafka) {
  // librdkafka loads the CA file when the client is created: a missing file
  // is an error that names the setting.
  auto bad = Open("      security.protocol: SSL\n      ssl.ca.location: /nonexistent/ca.pem\n");
  ASSERT_FALSE(bad.ok());
  // The same through the factory smimegate uses.
  auto doc = config::ConfigDocument::LoadString(
      "queue:\n  type: kafka\n  kafka:\n    brokers: 127.0.0.1:1\n    properties:\n"
      "      security.protocol: SSL\n      ssl.ca.location: /nonexistent/ca.pem\n", "t.yaml");
  auto config = ParseQueueConfig(*doc->Root().Map("queue"), "/tmp");
  ASSERT_TRUE(config.ok());
  auto opened = OpenQueue(*config);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("ssl.ca.location"), std::string::npos);
  EXPECT_NE(bad.error().message.find("ssl.ca.location"), std::string::npos) << bad.error().message;
  sg::testing::TempDir dir;
  std::string ca = CaFile(dir);
  auto good = Open("      security.protocol: SSL\n      ssl.ca.location: " + ca + "\n");
  ASSERT_TRUE(good.ok()) << good.error().ToString();
}

TEST(KafkaSecurityTest, SaslSslSettingsReachLibrdkafka) {
  sg::testing::TempDir dir;
  std::string ca = CaFile(dir);
  auto good = Open("      security.protocol: SASL_SSL\n      sasl.mechanism: SCRAM-SHA-512\n"
                   "      sasl.username: smimegate\n      sasl.password: secret\n"
                   "      ssl.ca.location: " + ca + "\n");
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  auto unknown = Open("      security.protocol: SASL_SSL\n      sasl.mechanism: NOT-A-MECHANISM\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("SASL mechanism: NOT-A-MECHANISM"), std::string::npos)
      << unknown.error().message;
  auto typo = Open("      security.protocl: SSL\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("security.protocl"), std::string::npos) << typo.error().message;
}

}  // namespace
}  // namespace sg::queue
