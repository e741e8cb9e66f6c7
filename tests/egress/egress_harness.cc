#include "tests/egress/egress_harness.h"

#include <gtest/gtest.h>

#include <future>
#include <sstream>

#include "common/config_node.h"
#include "common/kafka_queue.h"
#include "egress/egress_config.h"

namespace sg::egress::testing {

EgressHarness::EgressHarness(bool sync) {
  queue::EmbeddedQueueOptions opts;
  opts.path = dir_.Sub("queue");
  opts.sync = sync;
  auto q = queue::EmbeddedQueue::Open(opts);
  if (!q.ok()) {
    ADD_FAILURE() << q.error().ToString();
    return;
  }
  queue_ = std::move(*q);
  OpenProducer();
}

EgressHarness::EgressHarness(const std::string& kafka_broker) {
  broker_ = std::make_unique<sg::testing::KafkaBrokerProcess>(
      kafka_broker, std::vector<std::pair<std::string, int>>{{"deliver", 2}, {"retry", 2}, {"deadletter", 1}});
  if (!broker_->ok()) {
    ADD_FAILURE() << "test broker did not start";
    return;
  }
  queue::KafkaQueueOptions o;
  o.brokers = broker_->bootstrap();
  o.session_timeout = std::chrono::milliseconds(6000);
  auto q = queue::KafkaQueue::Open(o);
  if (!q.ok()) {
    ADD_FAILURE() << q.error().ToString();
    return;
  }
  queue_ = std::move(*q);
  OpenProducer();
}

void EgressHarness::OpenProducer() {
  auto st = queue_->EnsureTopics({{"deliver", 2}, {"retry", 2}, {"deadletter", 1}});
  EXPECT_TRUE(st.ok()) << st.error().ToString();
  auto p = queue_->CreateProducer();
  EXPECT_TRUE(p.ok());
  producer_ = std::move(*p);
}

EgressHarness::~EgressHarness() { Stop(); }

namespace {

Result<EgressConfig> ConfigOf(const std::string& yaml, const std::string& data_dir) {
  SG_ASSIGN_OR_RETURN(auto doc, config::ConfigDocument::LoadString(yaml, "test.yaml"));
  SG_ASSIGN_OR_RETURN(auto section, doc.Root().Map("egress"));
  SG_ASSIGN_OR_RETURN(auto cfg, ParseEgressConfig(section, data_dir));
  SG_RETURN_IF_ERROR(doc.CheckNoUnknownKeys());
  return cfg;
}

}  // namespace

void EgressHarness::Start(const std::string& yaml, bool real_clock) {
  auto cfg = ConfigOf(yaml, dir_.path());
  ASSERT_TRUE(cfg.ok()) << cfg.error().ToString();
  EgressDeps deps;
  if (!real_clock) deps.clock = &clock_;
  service_ = std::make_unique<EgressService>(
      *cfg, service_queue_ != nullptr ? *service_queue_ : *queue_, registry_, "", deps);
  auto st = service_->Start();
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  ASSERT_TRUE(service_->Ready());
}

std::unique_ptr<EgressService> EgressHarness::StartAnother(const std::string& yaml,
                                                           const std::string& data_dir,
                                                           metrics::Registry& registry) {
  auto cfg = ConfigOf(yaml, data_dir);
  if (!cfg.ok()) {
    ADD_FAILURE() << cfg.error().ToString();
    return nullptr;
  }
  EgressDeps deps;
  deps.clock = &clock_;
  auto service = std::make_unique<EgressService>(*cfg, *queue_, registry, "", deps);
  if (auto st = service->Start(); !st.ok()) {
    ADD_FAILURE() << st.error().ToString();
    return nullptr;
  }
  return service;
}

void EgressHarness::Stop() {
  if (service_) {
    service_->Stop();
    service_.reset();
  }
}

void EgressHarness::Produce(const smimegate::v1::MessageRecord& rec, const std::string& topic) {
  queue::OutRecord out;
  out.topic = topic;
  out.key = rec.envelope().message_id();
  out.value = rec.SerializeAsString();
  std::promise<Status> done;
  producer_->Produce(std::move(out), [&done](Status st) { done.set_value(st); });
  auto st = done.get_future().get();
  ASSERT_TRUE(st.ok()) << st.error().ToString();
}

std::vector<queue::Record> EgressHarness::ReadAll(const std::string& topic) {
  auto c = queue_->CreateConsumer("test-reader-" + std::to_string(++reader_seq_), {topic});
  std::vector<queue::Record> out;
  if (!c.ok()) {
    ADD_FAILURE() << c.error().ToString();
    return out;
  }
  while (true) {
    auto recs = (*c)->Poll(1000, std::chrono::milliseconds(50));
    if (!recs.ok() || recs->empty()) break;
    for (auto& r : *recs) out.push_back(std::move(r));
  }
  (*c)->Close();
  return out;
}

double EgressHarness::Metric(const std::string& sample) {
  std::istringstream in(registry_.Serialize());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return 0;
}

smimegate::v1::MessageRecord MakeRecord(const std::string& id, const std::string& from,
                                        const std::vector<std::string>& rcpts,
                                        smimegate::v1::Direction dir) {
  smimegate::v1::MessageRecord rec;
  auto* env = rec.mutable_envelope();
  env->set_message_id(id);
  env->set_direction(dir);
  env->set_mail_from(from);
  env->set_received_at_ms(1'800'000'000'000);
  for (const auto& r : rcpts) env->add_recipients()->set_address(r);
  rec.set_form_id("f");
  rec.set_message("From: " + from + "\r\nTo: " + rcpts[0] + "\r\nSubject: test " + id +
                  "\r\nMessage-ID: <" + id + "@test>\r\n\r\nBODY-MARKER\r\n.leading dot\r\n");
  return rec;
}

}  // namespace sg::egress::testing
