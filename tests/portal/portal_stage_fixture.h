// A running portal stage for tests (PortalService on an embedded queue,
// HTTPS on a free loopback port, a fast Argon2) and the few steps every
// page test needs: put a web-encryption record on the portal topic, wait
// for its notification on the deliver topic, register through the link,
// read what the stage produced on a topic.
//
// Threading: the test's thread only. Errors are test failures (EXPECT/ASSERT).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <future>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "portal/portal_service.h"
#include "proto/envelope.pb.h"
#include "tests/support/temp_dir.h"

namespace sg::portal::testing {

class PortalStageTest : public ::testing::Test {
 protected:
  static constexpr char kPassword[] = "Tundra-Kettle-Violin-42";

  // Adjusts the configuration before the stage starts.
  virtual void Configure(PortalConfig&) {}
  virtual const Clock& StageClock() { return SystemClock::Instance(); }

  void SetUp() override {
    queue::EmbeddedQueueOptions opts;
    opts.path = dir_.Sub("queue");
    opts.sync = false;
    auto q = queue::EmbeddedQueue::Open(opts);
    ASSERT_TRUE(q.ok()) << q.error().ToString();
    queue_ = std::move(*q);
    ASSERT_TRUE(queue_->EnsureTopics({{"portal", 1}, {"deliver", 1}, {"portal-reply", 1},
                                      {"deadletter", 1}}).ok());
    PortalConfig c;
    c.enabled = true;
    c.address = "127.0.0.1";
    c.port = 0;
    c.hostname = "localhost";
    c.public_url_derived = true;
    c.tls_dir = dir_.Sub("tls");
    c.store_path = dir_.Sub("store");
    c.admin_socket = dir_.Sub("portal.sock");
    c.kek.file = dir_.Sub("portal.kek");
    c.kek.create = true;
    c.threads = 4;
    Configure(c);
    service_ = std::make_unique<PortalService>(
        c, std::vector<std::string>{"corp.example"}, *queue_,
        PortalTopics{"portal", "deliver", "portal-reply", "deadletter"}, registry_, StageClock(),
        Argon2Params{1, 1024, 1}, 1);
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    client_ = NewClient();
  }
  void TearDown() override {
    if (service_) service_->Stop();
  }

  std::unique_ptr<httplib::SSLClient> NewClient() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", service_->port());
    c->enable_server_certificate_verification(false);
    return c;
  }

  void PutRaw(const std::string& queue_id, const std::string& value) {
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    std::promise<Status> done;
    (*p)->Produce({"portal", queue_id, {}, value, std::nullopt},
                  [&done](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  void Put(const std::string& queue_id, const std::string& rcpt, const std::string& message,
           const std::string& mail_from = "alice@corp.example") {
    smimegate::v1::MessageRecord r;
    r.mutable_envelope()->set_message_id(queue_id);
    r.mutable_envelope()->set_mail_from(mail_from);
    r.mutable_envelope()->add_recipients()->set_address(rcpt);
    r.set_message(message);
    r.set_destination(smimegate::v1::DESTINATION_PORTAL);
    PutRaw(queue_id, r.SerializeAsString());
  }

  // The raw records of a topic so far.
  std::vector<queue::Record> Records(const std::string& topic) {
    auto recs = queue_->ReadRange({topic, 0}, 0, 1000);
    return recs.ok() ? *recs : std::vector<queue::Record>{};
  }

  std::vector<smimegate::v1::MessageRecord> Messages(const std::string& topic) {
    std::vector<smimegate::v1::MessageRecord> out;
    for (const auto& r : Records(topic)) {
      smimegate::v1::MessageRecord m;
      if (m.ParseFromString(r.value)) out.push_back(m);
    }
    return out;
  }

  // Waits (bounded) until `topic` holds at least n records.
  std::vector<smimegate::v1::MessageRecord> WaitForMessages(const std::string& topic, size_t n) {
    using namespace std::chrono_literals;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Records(topic).size() >= n) break;
      std::this_thread::sleep_for(20ms);
    }
    return Messages(topic);
  }

  static std::string LinkToken(const smimegate::v1::MessageRecord& notification) {
    std::string text = notification.message();
    for (size_t at; (at = text.find("=\r\n")) != std::string::npos;) text.erase(at, 3);
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("/l/([A-Za-z0-9_-]{43})"))) return {};
    return m[1].str();
  }

  static std::string Csrf(const std::string& page) {
    std::smatch m;
    if (!std::regex_search(page, m, std::regex("name=\"csrf\" value=\"([^\"]+)\""))) return {};
    return m[1].str();
  }

  static std::string Cookie(const httplib::Result& r) {
    const std::string set = r->get_header_value("Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  // Registers the link's recipient; returns the session cookie ("" on failure).
  std::string Register(const std::string& token) {
    auto page = client_->Get("/l/" + token);
    EXPECT_TRUE(page);
    if (!page) return {};
    EXPECT_EQ(page->status, 200) << page->body;
    const std::string cookie = Cookie(page);
    httplib::Params form{{"csrf", Csrf(page->body)}, {"password", kPassword},
                         {"password2", kPassword}};
    auto done = client_->Post("/l/" + token, {{"Cookie", cookie}}, form);
    EXPECT_TRUE(done);
    if (!done) return {};
    EXPECT_EQ(done->status, 303) << done->body;
    return done->status == 303 ? Cookie(done) : std::string();
  }

  // The id of the only message of `recipient`.
  std::string OnlyMessageId(const std::string& recipient) {
    auto list = service_->store().ListMessages(recipient, "", 10);
    EXPECT_TRUE(list.ok());
    if (!list.ok() || list->size() != 1) return {};
    return (*list)[0].id();
  }

  sg::testing::TempDir dir_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  metrics::Registry registry_;
  std::unique_ptr<PortalService> service_;
  std::unique_ptr<httplib::SSLClient> client_;
};

}  // namespace sg::portal::testing
