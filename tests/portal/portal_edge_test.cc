// The portal's edge against a running stage (docs/portal.md "Behind a
// reverse proxy", "Sessions"): which client the per-IP rules count
// (review R2), and that an anonymous GET of a message page writes no
// session (review N3).
#include <string>

#include "tests/portal/portal_service_fixture.h"

namespace sg::portal {
namespace {

using testing::kPassword;
using testing::PortalServiceFixture;

class PortalEdgeTest : public PortalServiceFixture {
 protected:
  // A wrong login for a fresh unknown address (no address lock), sent with
  // `forwarded_for` as X-Forwarded-For (none when empty).
  httplib::Result WrongLogin(const std::string& forwarded_for) {
    httplib::Headers headers;
    if (!forwarded_for.empty()) headers.emplace("X-Forwarded-For", forwarded_for);
    auto page = client_->Get("/login", headers);
    EXPECT_TRUE(page);
    if (!page) return page;
    headers.emplace("Cookie", Cookie(page));
    return client_->Post("/login", headers,
                         httplib::Params{{"csrf", Csrf(page->body)},
                                         {"address", "nobody" + std::to_string(++n_) +
                                                         "@partner.example"},
                                         {"password", "wrong-password-1"}});
  }
  bool AuditHas(const std::string& event, const std::string& ip) {
    return WaitUntil([&] {
      auto events = service_->store().ListAudit(1000);
      if (!events.ok()) return false;
      for (const auto& e : *events) {
        if (e.event() == event && e.ip() == ip) return true;
      }
      return false;
    });
  }
  int n_ = 0;
};

class PortalBehindProxyTest : public PortalEdgeTest {
 protected:
  void Configure(PortalConfig& c) override {
    c.trusted_proxies = {*Cidr::Parse("127.0.0.0/8")};  // the test client is the proxy
  }
};

// One trusted proxy, two clients: client A's failures do not refuse B.
TEST_F(PortalBehindProxyTest, OneClientsFailuresDoNotLockOutAnotherClientOfTheProxy) {
  ASSERT_EQ(config_.max_ip_failures, 100u);
  for (int i = 0; i < 100; ++i) {
    // The client may write entries of its own; the proxy's right-most one counts.
    auto r = WrongLogin("203.0.113." + std::to_string(i) + ", 198.51.100.1");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 401) << i << r->body;
  }
  auto a = WrongLogin("198.51.100.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 429) << "client A is limited after 100 failures";
  auto b = WrongLogin("198.51.100.2");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 401) << "client B behind the same proxy must not be refused";
  // The audit names the client, not the proxy.
  EXPECT_TRUE(AuditHas("login_failed", "198.51.100.1"));
  EXPECT_TRUE(AuditHas("login_failed", "198.51.100.2"));
}

TEST_F(PortalBehindProxyTest, AMalformedForwardedForFromTheProxyIsRefused) {
  for (const std::string bad : {"unknown", "198.51.100.1,", "198.51.100.1:5000"}) {
    auto r = client_->Get("/login", {{"X-Forwarded-For", bad}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad;
  }
  EXPECT_EQ(Metric("smimegate_portal_refused_total{why=\"forwarded_for\"}"), 3);
  // Without the header the proxy itself is the client (its health checks).
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

class PortalNoProxyTest : public PortalEdgeTest {
 protected:
  void Configure(PortalConfig& c) override { c.max_ip_failures = 5; }
};

// trusted_proxies is empty by default: a client that sends X-Forwarded-For
// is still counted (and audited) under its own address.
TEST_F(PortalNoProxyTest, AnUntrustedPeerIsKeyedOnItsOwnAddressWhateverItForwards) {
  ASSERT_TRUE(config_.trusted_proxies.empty());
  for (int i = 0; i < 5; ++i) {
    auto r = WrongLogin("198.51.100." + std::to_string(i));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 401) << i;
  }
  auto r = WrongLogin("198.51.100.77");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  // A malformed header from an untrusted peer is not even read.
  auto page = client_->Get("/login", {{"X-Forwarded-For", "unknown"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(AuditHas("login_failed", "127.0.0.1"));
}

// Review N3: a flood of anonymous GET /m/<id> stores no session, and the
// message still opens after login (the id travels in the login form).
TEST_F(PortalEdgeTest, AnonymousMessageGetsStoreNoSessionAndOpenAfterLogin) {
  Put("q1", "bob@partner.example", "Figures");
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  ASSERT_FALSE(Register(LinkToken(notes[0])).empty());
  const std::string id = OnlyMessageId("bob@partner.example");
  ASSERT_EQ(*service_->store().SweepSessions(INT64_MAX), 1u);  // the registration's

  for (int i = 0; i < 50; ++i) {
    const std::string hex = std::string(30, '0') + std::to_string(10 + i);  // 32 digits
    auto r = client_->Get("/m/" + hex);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 303);
    ASSERT_EQ(r->get_header_value("Location"), "/login?m=" + hex);
  }
  EXPECT_EQ(*service_->store().SweepSessions(INT64_MAX), 0u);

  auto wanted = client_->Get("/m/" + id);
  ASSERT_TRUE(wanted);
  const std::string to = wanted->get_header_value("Location");
  ASSERT_EQ(to, "/login?m=" + id);
  auto page = client_->Get(to);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("name=\"m\" value=\"" + id + "\""), std::string::npos);
  EXPECT_EQ(*service_->store().SweepSessions(INT64_MAX), 0u);
  auto in = client_->Post("/login", {{"Cookie", Cookie(page)}},
                          httplib::Params{{"csrf", Csrf(page->body)},
                                          {"address", "bob@partner.example"},
                                          {"password", kPassword},
                                          {"m", id}});
  ASSERT_TRUE(in);
  ASSERT_EQ(in->status, 303) << in->body;
  EXPECT_EQ(in->get_header_value("Location"), "/m/" + id);
  // Anything but a message id is not carried.
  auto odd = client_->Get("/login?m=..%2Finbox");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->body.find("name=\"m\""), std::string::npos);
}

// The registration form folded with the reset form (portal_web_auth.cc
// PasswordForm): a refused registration shows the same form again, with
// the reason, the link's address and token, and a status of 400.
TEST_F(PortalEdgeTest, ARefusedRegistrationShowsTheRegistrationFormAgain) {
  Put("q1", "bob@partner.example", "Figures");
  auto notes = WaitForNotifications(1);
  ASSERT_EQ(notes.size(), 1u);
  const std::string token = LinkToken(notes[0]);
  auto page = client_->Get("/l/" + token);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  auto refused = client_->Post("/l/" + token, {{"Cookie", Cookie(page)}},
                               httplib::Params{{"csrf", Csrf(page->body)},
                                               {"password", kPassword},
                                               {"password2", "Something-Else-Entirely-9"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(refused->body.find("action=\"/l/" + token + "\""), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find("bob@partner.example"), std::string::npos);
  EXPECT_NE(refused->body.find("name=\"password2\""), std::string::npos);
  EXPECT_EQ(refused->body.find("name=\"code\""), std::string::npos);  // no code required
  EXPECT_FALSE(service_->store().GetAccount("bob@partner.example")->has_value());
}

}  // namespace
}  // namespace sg::portal
