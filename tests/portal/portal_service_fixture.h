// The portal stage in one process for tests: an embedded queue with the
// portal, deliver, inbound and dead-letter topics, a PortalService on a free
// port with a fake clock (tests move time by hand, never sleep for time
// logic), and an HTTPS client with the helpers the page tests share
// (CSRF token, cookie, registration, login, the notification's link, a
// metric's value).
//
// A test changes the configuration by overriding Configure(); the service
// starts in SetUp() after it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "portal/portal_config.h"
#include "portal/portal_mime.h"
#include "portal/portal_service.h"
#include "portal/portal_store.h"
#include "proto/envelope.pb.h"
#include "tests/portal/portal_loopback_config.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace sg::portal::testing {

namespace v1 = smimegate::v1;

inline constexpr char kPassword[] = "Tundra-Kettle-Violin-42";

// A multipart/mixed message from alice@corp.example with a text part and a
// small PDF attachment (its decoded bytes are kAttachmentBytes).
inline constexpr char kAttachmentBytes[] = "PDF-1.4 pretend \x01\x02\x03 bytes";
inline std::string Message(const std::string& subject, const std::string& to = "bob@partner.example",
                           const std::string& cc = "") {
  return "From: Alice <alice@corp.example>\r\n"
         "To: " + to + "\r\n" + (cc.empty() ? std::string() : "Cc: " + cc + "\r\n") +
         "Subject: " + subject + "\r\n"
         "Message-ID: <m1@corp.example>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe figures are attached.\r\n"
         "--b1\r\nContent-Type: application/pdf; name=\"figures.pdf\"\r\n"
         "Content-Disposition: attachment; filename=\"figures.pdf\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n"
         "UERGLTEuNCBwcmV0ZW5kIAECAyBieXRlcw==\r\n"
         "--b1--\r\n";
}

class PortalServiceFixture : public ::testing::Test {
 protected:
  // Changes to the configuration before the service starts.
  virtual void Configure(PortalConfig&) {}
  // Wiring of the service before it starts (e.g. EnableTenantBranding).
  virtual void BeforeStart(PortalService&) {}

  void SetUp() override {
    queue::EmbeddedQueueOptions opts;
    opts.path = dir_.Sub("queue");
    opts.sync = false;
    opts.cleanup_interval = std::chrono::milliseconds(10);  // PortalHandled() sees commits soon
    auto q = queue::EmbeddedQueue::Open(opts);
    ASSERT_TRUE(q.ok()) << q.error().ToString();
    queue_ = std::move(*q);
    ASSERT_TRUE(queue_->EnsureTopics({{"portal", 1}, {"deliver", 1}, {"portal-reply", 1},
                                      {"deadletter", 1}}).ok());
    UseLoopbackDefaults(config_, dir_);
    config_.threads = 4;
    Configure(config_);
    service_ = std::make_unique<PortalService>(
        config_, std::vector<std::string>{"corp.example"}, *queue_,
        PortalTopics{"portal", "deliver", "portal-reply", "deadletter"}, registry_, clock_,
        Argon2Params{1, 1024, 1}, 1);
    BeforeStart(*service_);
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    client_ = NewClient();
  }
  void TearDown() override {
    if (service_) service_->Stop();
  }

  // A fresh HTTPS client of the service (its own connection).
  std::unique_ptr<httplib::SSLClient> NewClient() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", service_->port());
    c->enable_server_certificate_verification(false);
    return c;
  }

  // `value` as a record on the portal topic, durable.
  void PutRaw(const std::string& queue_id, const std::string& value) {
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    std::promise<Status> done;
    (*p)->Produce({"portal", queue_id, {}, value, std::nullopt},
                  [&done](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  // A web-encryption record for `rcpt` on the portal topic, durable.
  void Put(const std::string& queue_id, const std::string& rcpt, const std::string& subject,
           const std::string& message = "", const std::string& mail_from = "alice@corp.example") {
    v1::MessageRecord r;
    r.mutable_envelope()->set_message_id(queue_id);
    r.mutable_envelope()->set_mail_from(mail_from);
    r.mutable_envelope()->add_recipients()->set_address(rcpt);
    r.set_message(message.empty() ? Message(subject) : message);
    r.set_destination(v1::DESTINATION_PORTAL);
    PutRaw(queue_id, r.SerializeAsString());
  }

  std::vector<v1::MessageRecord> Records(const std::string& topic) {
    std::vector<v1::MessageRecord> out;
    auto recs = queue_->ReadRange({topic, 0}, 0, 1000);
    if (!recs.ok()) return out;
    for (const auto& r : *recs) {
      v1::MessageRecord m;
      if (m.ParseFromString(r.value)) out.push_back(m);
    }
    return out;
  }
  // The mails the portal handed to egress so far (notifications, resets).
  std::vector<v1::MessageRecord> Notifications() { return Records("deliver"); }

  // Polls `done` until it holds or 20 s pass (a bound, not a time logic:
  // the condition is what the test waits for).
  static bool WaitUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  // True once the intake has committed the first `n` records of the portal
  // topic, i.e. finished them: the queue deletes what every group committed,
  // so the partition's low offset is the group's committed offset.
  bool PortalHandled(int64_t n) {
    return WaitUntil([&] {
      auto offsets = queue_->Offsets({"portal", 0});
      return offsets.ok() && offsets->low >= n;
    });
  }
  // The records of `topic` once it holds at least n (bounded wait).
  std::vector<v1::MessageRecord> WaitForRecords(const std::string& topic, size_t n) {
    WaitUntil([&] { return Records(topic).size() >= n; });
    return Records(topic);
  }
  std::vector<v1::MessageRecord> WaitForNotifications(size_t n) { return WaitForRecords("deliver", n); }

  // The value of one sample in the registry ("name" or "name{l=\"v\"}"),
  // 0 when it is not there (yet).
  double Metric(const std::string& sample) const {
    std::istringstream text(registry_.Serialize());
    for (std::string line; std::getline(text, line);) {
      if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
    }
    return 0;
  }

  // A mail the portal wrote (notification, code, reset), decoded.
  struct DecodedMail {
    std::string raw, subject, text, html;
  };
  static DecodedMail Decode(const v1::MessageRecord& record) {
    ParsedMessage p = ParseForPortal(record.message());
    return DecodedMail{record.message(), p.summary.subject(), p.text, p.html};
  }

  // The notification's link token ("/l/<43>" or "/r/<43>"), from the
  // decoded text part.
  static std::string LinkToken(const v1::MessageRecord& notification, const std::string& path = "l") {
    std::string text = ParseForPortal(notification.message()).text;
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("/" + path + "/([A-Za-z0-9_-]{43})"))) return {};
    return m[1].str();
  }
  // The notification for `rcpt` among `notes` (the first one).
  static const v1::MessageRecord* For(const std::vector<v1::MessageRecord>& notes,
                                      const std::string& rcpt) {
    for (const auto& n : notes) {
      if (n.envelope().recipients_size() > 0 && n.envelope().recipients(0).address() == rcpt) {
        return &n;
      }
    }
    return nullptr;
  }

  static std::string Csrf(const std::string& page) {
    std::smatch m;
    if (!std::regex_search(page, m, std::regex("name=\"csrf\" value=\"([^\"]+)\""))) return {};
    return m[1].str();
  }
  // Every cookie the answer sets, as a Cookie header value ("a=1; b=2").
  static std::string Cookie(const httplib::Result& r) {
    std::string out;
    for (size_t i = 0; i < r->get_header_value_count("Set-Cookie"); ++i) {
      const std::string set = r->get_header_value("Set-Cookie", i);
      out += (out.empty() ? "" : "; ") + set.substr(0, set.find(';'));
    }
    return out;
  }

  // Moves the service's clock (the one place that knows the clock's type).
  void AdvanceMs(int64_t ms) { clock_.AdvanceMs(ms); }

  // Registers the link's recipient with `password`; returns the session cookie.
  std::string Register(const std::string& token, const std::string& password = kPassword) {
    auto page = client_->Get("/l/" + token);
    EXPECT_TRUE(page);
    if (!page) return {};
    EXPECT_EQ(page->status, 200) << page->body;
    const std::string cookie = Cookie(page);
    httplib::Params form{{"csrf", Csrf(page->body)}, {"password", password},
                         {"password2", password}};
    auto done = client_->Post("/l/" + token, {{"Cookie", cookie}}, form);
    EXPECT_TRUE(done);
    if (!done) return {};
    EXPECT_EQ(done->status, 303) << done->body;
    return Cookie(done);
  }

  // POST /login from a fresh login page; the answer (303 on success).
  httplib::Result Login(const std::string& address, const std::string& password) {
    auto page = client_->Get("/login");
    EXPECT_TRUE(page);
    return client_->Post("/login", {{"Cookie", Cookie(page)}},
                         httplib::Params{{"csrf", Csrf(page->body)},
                                         {"address", address},
                                         {"password", password}});
  }

  // A page's CSRF token for the session `cookie` (any logged-in page has one).
  std::string CsrfFor(const std::string& cookie, const std::string& path = "/settings") {
    auto page = client_->Get(path, {{"Cookie", cookie}});
    EXPECT_TRUE(page);
    return page ? Csrf(page->body) : std::string();
  }

  // The only message of `rcpt` (its portal id).
  std::string OnlyMessageId(const std::string& rcpt) {
    auto list = service_->store().ListMessages(rcpt, "", 10);
    EXPECT_TRUE(list.ok());
    if (!list.ok() || list->size() != 1) return {};
    return (*list)[0].id();
  }

  sg::testing::TempDir dir_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  metrics::Registry registry_;
  sg::testing::FakeClock clock_;
  PortalConfig config_;
  std::unique_ptr<PortalService> service_;
  std::unique_ptr<httplib::SSLClient> client_;
};

}  // namespace sg::portal::testing
