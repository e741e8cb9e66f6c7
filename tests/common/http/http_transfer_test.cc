// sg_http (common/http/http_transfer.h): the shared safety settings of our
// HTTP clients against a cpp-httplib server on a loopback port: any status
// is an answer, redirects are not followed, the size limit, the URL
// schemes, the address check before connect, headers and form bodies.
// (TLS verification is covered by its users' tests against HTTPS servers:
// DirectoryGraphTest.SecretAndTlsAreChecked.)
#include "common/http/http_transfer.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>

namespace sg::http {
namespace {

class HttpTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/small", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_header("Retry-After", "7");
      res.set_content("hello", "text/plain");
    });
    server_.Get("/big", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_content(std::string(5000, 'x'), "text/plain");
    });
    server_.Get("/missing", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.status = 404;
      res.set_content("no", "text/plain");
    });
    server_.Get("/redirect", [this](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_redirect("/small");
    });
    server_.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      res.set_content(req.get_header_value("Content-Type") + "|" + req.get_header_value("X-Test") +
                          "|" + req.body,
                      "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Bound already: connections wait in the backlog until the accept loop runs.
    for (int i = 0; i < 1000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  TransferOptions Options(const std::string& path) {
    TransferOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    o.timeout = std::chrono::seconds(10);
    return o;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> hits_{0};
};

TEST_F(HttpTransferTest, AnyStatusIsAnAnswerAndHeadersAreSeen) {
  auto o = Options("/small");
  std::string retry_after;
  o.on_header = [&](std::string_view line) {
    if (line.rfind("Retry-After:", 0) == 0) retry_after = std::string(line);
  };
  auto r = Perform(o);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(retry_after, "Retry-After: 7\r\n");
  r = Perform(Options("/missing"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 404);
}

TEST_F(HttpTransferTest, RedirectsAreNotFollowed) {
  auto r = Perform(Options("/redirect"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(hits_.load(), 1);
}

TEST_F(HttpTransferTest, AnswersOverTheLimitAreRefused) {
  auto o = Options("/big");
  o.max_bytes = 4000;
  auto r = Perform(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message.find("answer larger than 4000 bytes"), std::string::npos);
  o.max_bytes = 5000;
  EXPECT_TRUE(Perform(o).ok());
}

TEST_F(HttpTransferTest, OnlyHttpAndHttpsUrls) {
  auto o = Options("/small");
  o.https_only = true;
  auto r = Perform(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "not an https URL: " + o.url);
  o.https_only = false;
  o.url = "ftp://127.0.0.1/x";
  r = Perform(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "not an http(s) URL: ftp://127.0.0.1/x");
  o.url = "file:///etc/passwd";
  EXPECT_EQ(Perform(o).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(hits_.load(), 0);
}

TEST_F(HttpTransferTest, TheAddressCheckRunsBeforeTheConnect) {
  auto o = Options("/small");
  int checked = 0;
  o.check_address = [&](const sockaddr* a) {
    ++checked;
    return a->sa_family == AF_INET ? "loopback refused" : "";
  };
  auto r = Perform(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().message, o.url + ": loopback refused");
  EXPECT_EQ(checked, 1);
  EXPECT_EQ(hits_.load(), 0);  // never connected
  o.check_address = [](const sockaddr*) { return std::string(); };
  EXPECT_TRUE(Perform(o).ok());
}

TEST_F(HttpTransferTest, PostsBodiesAndEncodedForms) {
  auto o = Options("/echo");
  o.headers = {"X-Test: 1", "Content-Type: application/ocsp-request"};
  o.post_body = std::string("\x30\x03\x02\x01\x00", 5);
  auto r = Perform(o);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "application/ocsp-request|1|" + o.post_body);
  o = Options("/echo");
  o.form = {{"grant_type", "client_credentials"}, {"scope", "https://g/.default x&y"}};
  r = Perform(o);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(
      r->body,
      "application/x-www-form-urlencoded||grant_type=client_credentials&scope=https%3A%2F%2Fg%"
      "2F.default%20x%26y");
}

}  // namespace
}  // namespace sg::http
