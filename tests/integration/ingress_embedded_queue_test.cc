// The ingress server on the real embedded queue (RocksDB, synced WAL), as
// `smimegate run` wires it: messages answered 250 are on the inbound topic,
// keyed by the message id the client was told, and a consumer reads them.
#include <gtest/gtest.h>

#include <set>

#include "common/embedded_queue.h"
#include "common/topics.h"
#include "ingress/ingress_server.h"
#include "tests/ingress/smtp_test_client.h"
#include "tests/support/temp_dir.h"

namespace sg::ingress {
namespace {

using namespace std::chrono_literals;
using testing::CodeOf;

TEST(IngressEmbeddedQueue, AcceptedMessagesAreDurableAndConsumable) {
  sg::testing::TempDir dir;
  queue::EmbeddedQueueOptions opts;
  opts.path = dir.Sub("queue");
  auto q = queue::EmbeddedQueue::Open(opts);
  ASSERT_TRUE(q.ok()) << q.error().ToString();
  const std::string inbound = topics::Name("", topics::kInbound);
  const std::string outbound = topics::Name("", topics::kOutbound);
  ASSERT_TRUE((*q)->EnsureTopics({{inbound, 4}, {outbound, 4}}).ok());
  auto producer = (*q)->CreateProducer();
  ASSERT_TRUE(producer.ok());

  IngressConfig config;
  config.hostname = "gw.example.org";
  config.threads = 2;
  ListenerConfig mx;
  mx.config_path = "ingress.listeners[0]";
  mx.name = "mx";
  mx.address = "127.0.0.1";
  mx.port = 0;
  mx.starttls = false;  // plaintext only: no certificate needed
  config.listeners = {mx};
  metrics::Registry registry;
  IngressServer server(config, {"example.org"}, IngressTopics{inbound, outbound}, **producer,
                       registry);
  ASSERT_TRUE(server.Start().ok());

  std::set<std::string> told;
  testing::SmtpTestClient c;
  ASSERT_TRUE(c.Connect(server.Port("mx")));
  c.ReadReply();
  c.Cmd("EHLO client.example");
  for (int i = 0; i < 10; ++i) {
    c.Send("MAIL FROM:<s@remote.example>\r\nRCPT TO:<u" + std::to_string(i) +
           "@example.org>\r\nDATA\r\n");
    c.ReadReply();
    c.ReadReply();
    ASSERT_EQ(CodeOf(c.ReadReply()), "354");
    std::string reply = c.Cmd("Subject: n" + std::to_string(i) + "\r\n\r\nbody\r\n.");
    ASSERT_EQ(CodeOf(reply), "250 2.0.0") << reply;
    told.insert(reply.substr(reply.rfind(' ') + 1, 26));
  }
  server.Stop();

  auto consumer = (*q)->CreateConsumer("test", {inbound});
  ASSERT_TRUE(consumer.ok());
  std::set<std::string> seen;
  for (int tries = 0; tries < 50 && seen.size() < 10; ++tries) {
    auto recs = (*consumer)->Poll(100, 100ms);
    ASSERT_TRUE(recs.ok());
    for (const auto& r : *recs) {
      smimegate::v1::MessageRecord rec;
      ASSERT_TRUE(rec.ParseFromString(r.value));
      EXPECT_EQ(r.key, rec.envelope().message_id());
      EXPECT_EQ(rec.envelope().direction(), smimegate::v1::DIRECTION_INBOUND);
      seen.insert(r.key);
    }
  }
  EXPECT_EQ(seen, told);
  (*consumer)->Close();
}

}  // namespace
}  // namespace sg::ingress
