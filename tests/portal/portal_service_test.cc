// The portal stage end to end inside one process: a web-encryption record
// on the portal topic (embedded queue) is stored once and notified through
// the deliver topic; the link leads over HTTPS to registration, the inbox,
// the message and its attachment. The attacks of issue 17 that need no
// browser: a POST without CSRF token, another recipient's message id, a
// reused link, 20 wrong passwords, the cookie's attributes.
#include "portal/portal_service.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <future>
#include <regex>
#include <thread>

#include "common/embedded_queue.h"
#include "common/metrics.h"
#include "portal/portal_store.h"
#include "proto/envelope.pb.h"
#include "tests/support/temp_dir.h"

namespace sg::portal {
namespace {

using namespace std::chrono_literals;
namespace v1 = smimegate::v1;

const char kAttachment[] = "PDF-1.4 pretend \x01\x02\x03 bytes";

std::string Message(const std::string& subject,
                    const std::string& from = "Alice <alice@corp.example>") {
  return "From: " + from + "\r\n"
         "To: bob@partner.example\r\n"
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

class PortalServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue::EmbeddedQueueOptions opts;
    opts.path = dir_.Sub("queue");
    opts.sync = false;
    auto q = queue::EmbeddedQueue::Open(opts);
    ASSERT_TRUE(q.ok()) << q.error().ToString();
    queue_ = std::move(*q);
    ASSERT_TRUE(queue_->EnsureTopics({{"portal", 1}, {"deliver", 1}, {"inbound", 1},
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
    service_ = std::make_unique<PortalService>(
        c, std::vector<std::string>{"corp.example"}, *queue_,
        PortalTopics{"portal", "deliver", "inbound", "deadletter"}, registry_, clock_,
        Argon2Params{1, 1024, 1}, 1);
    Status s = service_->Start();
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    client_ = std::make_unique<httplib::SSLClient>("127.0.0.1", service_->port());
    client_->enable_server_certificate_verification(false);
  }
  void TearDown() override {
    if (service_) service_->Stop();
  }

  void Put(const std::string& queue_id, const std::string& rcpt, const std::string& subject,
           const std::string& from = "Alice <alice@corp.example>",
           const std::string& mail_from = "alice@corp.example") {
    v1::MessageRecord r;
    r.mutable_envelope()->set_message_id(queue_id);
    r.mutable_envelope()->set_mail_from(mail_from);
    r.mutable_envelope()->add_recipients()->set_address(rcpt);
    r.set_message(Message(subject, from));
    r.set_destination(v1::DESTINATION_PORTAL);
    auto p = queue_->CreateProducer();
    ASSERT_TRUE(p.ok());
    std::promise<Status> done;
    (*p)->Produce({"portal", queue_id, {}, r.SerializeAsString(), std::nullopt},
                  [&done](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  // The notifications on the deliver topic so far.
  std::vector<v1::MessageRecord> Notifications() {
    std::vector<v1::MessageRecord> out;
    auto recs = queue_->ReadRange({"deliver", 0}, 0, 1000);
    if (!recs.ok()) return out;
    for (const auto& r : *recs) {
      v1::MessageRecord m;
      if (m.ParseFromString(r.value)) out.push_back(m);
    }
    return out;
  }

  std::vector<v1::MessageRecord> WaitForNotifications(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto got = Notifications();
      if (got.size() >= n) return got;
      std::this_thread::sleep_for(20ms);
    }
    return Notifications();
  }

  static std::string LinkToken(const v1::MessageRecord& notification) {
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

  // Registers bob through the link; returns the session cookie.
  std::string Register(const std::string& token) {
    auto page = client_->Get("/l/" + token);
    EXPECT_TRUE(page);
    if (!page) return {};
    EXPECT_EQ(page->status, 200) << page->body;
    const std::string cookie = Cookie(page);
    httplib::Params form{{"csrf", Csrf(page->body)},
                         {"password", "Tundra-Kettle-Violin-42"},
                         {"password2", "Tundra-Kettle-Violin-42"}};
    auto done = client_->Post("/l/" + token, {{"Cookie", cookie}}, form);
    EXPECT_TRUE(done);
    if (!done) return {};
    EXPECT_EQ(done->status, 303) << done->body;
    return Cookie(done);
  }

  sg::testing::TempDir dir_;
  std::unique_ptr<queue::EmbeddedQueue> queue_;
  metrics::Registry registry_;
  SystemClock clock_;
  std::unique_ptr<PortalService> service_;
  std::unique_ptr<httplib::SSLClient> client_;
};

TEST_F(PortalServiceTest, StoredOnceNotifiedAndReadableAfterRegistration) {
  Put("q1", "Bob@Partner.Example", "Quarterly figures");
  Put("q1", "Bob@Partner.Example", "Quarterly figures");  // delivered twice by the queue
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  std::this_thread::sleep_for(300ms);  // the duplicate has been read by now
  EXPECT_EQ(Notifications().size(), 1u);
  EXPECT_EQ(*service_->store().CountMessages("bob@partner.example"), 1u);
  const v1::MessageRecord& note = notes[0];
  EXPECT_EQ(note.envelope().recipients(0).address(), "bob@partner.example");
  EXPECT_NE(note.message().find("multipart/alternative"), std::string::npos);
  EXPECT_EQ(note.message().find("The figures are attached"), std::string::npos);
  const std::string token = LinkToken(note);
  ASSERT_EQ(token.size(), 43u) << note.message();

  const std::string cookie = Register(token);
  ASSERT_FALSE(cookie.empty());
  auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->status, 200);
  EXPECT_NE(inbox->body.find("Quarterly figures"), std::string::npos) << inbox->body;
  EXPECT_NE(inbox->get_header_value("Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_NE(inbox->get_header_value("Strict-Transport-Security"), "");

  auto list = service_->store().ListMessages("bob@partner.example", "", 10);
  ASSERT_EQ(list->size(), 1u);
  const std::string id = (*list)[0].id();
  auto message = client_->Get("/m/" + id, {{"Cookie", cookie}});
  ASSERT_TRUE(message);
  EXPECT_EQ(message->status, 200);
  EXPECT_NE(message->body.find("figures.pdf"), std::string::npos) << message->body;
  std::smatch link;
  ASSERT_TRUE(std::regex_search(message->body, link, std::regex("href=\"(/m/[0-9a-f]{32}/a/[0-9]+)\"")))
      << message->body;
  auto attachment = client_->Get(link[1].str(), {{"Cookie", cookie}});
  ASSERT_TRUE(attachment);
  EXPECT_EQ(attachment->status, 200);
  EXPECT_EQ(attachment->body, std::string(kAttachment, sizeof kAttachment - 1));
  EXPECT_EQ(attachment->get_header_value("Content-Type"), "application/octet-stream");
  auto eml = client_->Get("/m/" + id + "/eml", {{"Cookie", cookie}});
  ASSERT_TRUE(eml);
  EXPECT_EQ(eml->body, Message("Quarterly figures"));
}

TEST_F(PortalServiceTest, TheSessionCookieIsHostOnlySecureHttpOnlyStrict) {
  auto page = client_->Get("/login");
  ASSERT_TRUE(page);
  const std::string set = page->get_header_value("Set-Cookie");
  EXPECT_EQ(set.rfind("__Host-sg_session=", 0), 0u) << set;
  EXPECT_NE(set.find("Secure"), std::string::npos) << set;
  EXPECT_NE(set.find("HttpOnly"), std::string::npos) << set;
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos) << set;
  EXPECT_EQ(set.find("Domain="), std::string::npos) << set;
}

TEST_F(PortalServiceTest, AttacksAreRefused) {
  Put("q1", "bob@partner.example", "For Bob");
  Put("q2", "carol@partner.example", "For Carol");
  auto notes = WaitForNotifications(2);
  ASSERT_EQ(notes.size(), 2u);
  const std::string bob_token =
      LinkToken(notes[0].envelope().recipients(0).address() == "bob@partner.example" ? notes[0]
                                                                                     : notes[1]);
  // A state change without the CSRF token.
  auto page = client_->Get("/l/" + bob_token);
  ASSERT_TRUE(page);
  auto no_csrf = client_->Post("/l/" + bob_token, {{"Cookie", Cookie(page)}},
                               httplib::Params{{"password", "Tundra-Kettle-Violin-42"},
                                               {"password2", "Tundra-Kettle-Violin-42"}});
  ASSERT_TRUE(no_csrf);
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_FALSE(service_->store().GetAccount("bob@partner.example")->has_value());
  // A foreign Origin is refused even with the token.
  auto cross = client_->Post("/l/" + bob_token,
                             {{"Cookie", Cookie(page)}, {"Origin", "https://evil.example"}},
                             httplib::Params{{"csrf", Csrf(page->body)},
                                             {"password", "Tundra-Kettle-Violin-42"},
                                             {"password2", "Tundra-Kettle-Violin-42"}});
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);

  const std::string cookie = Register(bob_token);
  ASSERT_FALSE(cookie.empty());
  // The link is used up.
  auto reused = client_->Get("/l/" + bob_token);
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->status, 410);
  // Carol's message id, asked for by Bob: 404 like an id that does not exist.
  auto carols = service_->store().ListMessages("carol@partner.example", "", 1);
  ASSERT_EQ(carols->size(), 1u);
  for (const std::string& path : std::vector<std::string>{"/m/" + (*carols)[0].id(), "/m/" + (*carols)[0].id() + "/eml",
                                 "/m/" + (*carols)[0].id() + "/a/0",
                                 std::string("/m/00000000000000000000000000000000")}) {
    auto r = client_->Get(path, {{"Cookie", cookie}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("For Carol"), std::string::npos);
  }
  // 20 wrong passwords lock the account: the right one is refused after.
  for (int i = 0; i < 20; ++i) {
    auto login = client_->Get("/login");
    ASSERT_TRUE(login);
    auto wrong = client_->Post("/login", {{"Cookie", Cookie(login)}},
                               httplib::Params{{"csrf", Csrf(login->body)},
                                               {"address", "bob@partner.example"},
                                               {"password", "wrong-" + std::to_string(i)}});
    ASSERT_TRUE(wrong);
    EXPECT_NE(wrong->status, 303) << i;
  }
  auto login = client_->Get("/login");
  ASSERT_TRUE(login);
  auto right = client_->Post("/login", {{"Cookie", Cookie(login)}},
                             httplib::Params{{"csrf", Csrf(login->body)},
                                             {"address", "bob@partner.example"},
                                             {"password", "Tundra-Kettle-Violin-42"}});
  ASSERT_TRUE(right);
  EXPECT_NE(right->status, 303) << "a locked account logged in";
}

// Review M1: a password reset on one client logs every other client out.
TEST_F(PortalServiceTest, APasswordResetEndsTheOtherClientsSession) {
  Put("q1", "bob@partner.example", "For Bob");
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  const std::string first = Register(LinkToken(notes[0]));  // client 1
  ASSERT_FALSE(first.empty());
  auto form = client_->Get("/reset");  // client 2 asks for a reset link
  ASSERT_TRUE(form);
  auto asked = client_->Post("/reset", {{"Cookie", Cookie(form)}},
                             httplib::Params{{"csrf", Csrf(form->body)},
                                             {"address", "bob@partner.example"}});
  ASSERT_TRUE(asked);
  ASSERT_EQ(asked->status, 200);
  notes = WaitForNotifications(2);
  ASSERT_EQ(notes.size(), 2u);
  std::string text = notes[1].message();
  for (size_t at; (at = text.find("=\r\n")) != std::string::npos;) text.erase(at, 3);
  std::smatch token;
  ASSERT_TRUE(std::regex_search(text, token, std::regex("/r/([A-Za-z0-9_-]{43})"))) << text;
  auto page = client_->Get("/r/" + token[1].str());
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  auto reset = client_->Post("/r/" + token[1].str(), {{"Cookie", Cookie(page)}},
                             httplib::Params{{"csrf", Csrf(page->body)},
                                             {"password", "Granite-Osprey-Lantern-7"},
                                             {"password2", "Granite-Osprey-Lantern-7"}});
  ASSERT_TRUE(reset);
  ASSERT_EQ(reset->status, 303) << reset->body;
  const std::string second = Cookie(reset);
  // Client 2 is logged in with the new password; client 1 lands on /login.
  auto inbox = client_->Get("/inbox", {{"Cookie", second}});
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->status, 200);
  auto stale = client_->Get("/inbox", {{"Cookie", first}});
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 303);
  EXPECT_EQ(stale->get_header_value("Location").find("/login"), 0u)
      << stale->get_header_value("Location");
}

TEST_F(PortalServiceTest, ARefusedReplyTakesNoReplyToken) {
  // From a sender outside the hosted domains: nobody to reply to (403).
  Put("q1", "bob@partner.example", "From outside", "Mallory <mallory@elsewhere.example>",
      "mallory@elsewhere.example");
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  const std::string cookie = Register(LinkToken(notes[0]));
  ASSERT_FALSE(cookie.empty());
  auto inbox = client_->Get("/inbox", {{"Cookie", cookie}});
  ASSERT_TRUE(inbox);
  std::smatch id;
  ASSERT_TRUE(std::regex_search(inbox->body, id, std::regex("/m/([0-9a-f]{32})"))) << inbox->body;
  auto form = client_->Get("/m/" + id[1].str() + "/reply", {{"Cookie", cookie}});
  ASSERT_TRUE(form);
  ASSERT_EQ(form->status, 200) << form->body;
  const httplib::Params reply{{"csrf", Csrf(form->body)}, {"body", "Thanks"}};
  // More refused replies than the bucket holds (20 an hour): each is
  // refused for what it is, none for the rate.
  for (int i = 0; i < 21; ++i) {
    auto r = client_->Post("/m/" + id[1].str() + "/reply", {{"Cookie", cookie}}, reply);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 403) << i;
  }
}

}  // namespace
}  // namespace sg::portal
