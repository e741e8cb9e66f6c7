// A first certificate issued in the background (KeyServiceImpl with
// keyservice/issuance_queue.h): GetSigningIdentity never holds its caller
// (a worker thread in `smimegate run`) for a slow or silent CA; the
// certificate is stored when it comes and the next try finds it; a refusal
// reaches the next try as a refusal; shutdown does not wait for the CA.
// CAs: a fake that blocks on a latch in front of the built-in CA (refusing
// or failing on demand), and the real CMP backend against a server that
// accepts connections and never answers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "keyservice/ca_factory.h"
#include "keyservice/cmp_ca.h"
#include "keyservice/key_service_impl.h"
#include "tests/keyservice/cmp_mock_server.h"
#include "tests/keyservice/dns_test_server.h"
#include "tests/keyservice/test_pki.h"
#include "tests/support/fake_clock.h"

namespace sg::keyservice {
namespace {

using namespace std::chrono_literals;
using sg::testing::FakeClock;

// The built-in CA behind a latch: Issue blocks until Open() (then answers
// with `answer`, or the built-in CA's certificate when OK) or until
// CancelExchanges().
class LatchedCa : public CertificateAuthority {
 public:
  explicit LatchedCa(std::unique_ptr<CertificateAuthority> inner) : inner_(std::move(inner)) {}
  Result<IssuedCertificate> Issue(const IssueRequest& r) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_ || cancelled_; });
    if (cancelled_) return MakeError(ErrorCode::kUnavailable, "cancelled");
    if (!answer_.ok()) return answer_.error();
    return inner_->Issue(r);
  }
  std::string RootCertificateDer() const override { return inner_->RootCertificateDer(); }
  std::string IssuingCertificateDer() const override { return inner_->IssuingCertificateDer(); }
  void CancelExchanges() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  void Open(Status answer = OkStatus()) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = std::move(answer);
    open_ = true;
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  bool WaitCalls(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return calls_ >= n; });
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

 private:
  std::unique_ptr<CertificateAuthority> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  bool open_ = false;
  bool cancelled_ = false;
  Status answer_ = OkStatus();
};

class BackgroundIssuanceTest : public ::testing::Test {
 protected:
  void Open() {
    auto config = testing::TestConfig(dir_.path() / "ks");
    config.issuance = issuance_;
    // An external backend (issued in the background; the built-in CA is
    // asked on the caller's thread): the built-in CA behind a latch.
    config.ca.backend = "latched";
    CaFactory factory = [this](const CaConfig& c, const CaContext& ctx)
        -> Result<std::unique_ptr<CertificateAuthority>> {
      CaConfig builtin = c;
      builtin.backend = "builtin";
      SG_ASSIGN_OR_RETURN(auto inner, DefaultCaFactory()(builtin, ctx));
      auto ca = std::make_unique<LatchedCa>(std::move(inner));
      ca_ = ca.get();
      return std::unique_ptr<CertificateAuthority>(std::move(ca));
    };
    auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry_, clock_, factory);
    ASSERT_TRUE(ks.ok()) << ks.error().ToString();
    ks_ = std::move(*ks);
    ASSERT_TRUE(ks_->PutUsers({User{"bob@example.com", true, ""}}).ok());
  }
  // Waits (bounded) until the background issuance has ended.
  bool WaitIssued() {
    for (int i = 0; i < 1000; ++i) {
      if (!ks_->ListCertificates("bob@example.com", "own")->empty()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  double Outcomes(const std::string& result) {
    return registry_.AddCounter("smimegate_keyservice_issuance_outcomes_total", "", {"result"})
        .WithLabels({result})
        .Value();
  }
  bool WaitOutcome(const std::string& result) {
    for (int i = 0; i < 1000 && Outcomes(result) == 0; ++i) std::this_thread::sleep_for(10ms);
    return Outcomes(result) > 0;
  }

  testing::TempDir dir_;
  IssuanceConfig issuance_;
  metrics::Registry registry_;
  FakeClock clock_{std::chrono::system_clock::now()};
  LatchedCa* ca_ = nullptr;
  std::unique_ptr<KeyServiceImpl> ks_;
};

TEST_F(BackgroundIssuanceTest, ASlowCaDoesNotHoldTheCallerAndTheNextTryFindsTheCertificate) {
  issuance_.answer_within = 100ms;
  Open();
  // Three worker threads try at once; none waits for the CA.
  std::vector<std::future<Result<std::optional<SigningIdentity>>>> tries;
  tries.reserve(3);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    tries.push_back(std::async(std::launch::async,
                               [this] { return ks_->GetSigningIdentity("bob@example.com"); }));
  }
  for (auto& t : tries) {
    auto r = t.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
    EXPECT_NE(r.error().message.find("being issued"), std::string::npos) << r.error().message;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_TRUE(ca_->WaitCalls(1));
  EXPECT_EQ(ca_->calls(), 1) << "one request to the CA for the address";
  ca_->Open();
  ASSERT_TRUE(WaitIssued()) << "the certificate is stored when the CA answers";
  auto next = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  ASSERT_TRUE(next->has_value());
  EXPECT_FALSE((*next)->certificate_der.empty());
  EXPECT_EQ(ca_->calls(), 1);
}

TEST_F(BackgroundIssuanceTest, AFastCaAnswersTheFirstCallItself) {
  issuance_.answer_within = 5s;
  Open();
  ca_->Open();
  auto id = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_TRUE(id->has_value()) << "the built-in CA's case: signed on first use, as before";
}

TEST_F(BackgroundIssuanceTest, ARefusalReachesTheNextTryAsARefusal) {
  issuance_.answer_within = 0ms;
  Open();
  auto first = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  ASSERT_TRUE(ca_->WaitCalls(1));
  ca_->Open(MakeError(ErrorCode::kPermissionDenied, "CMP ir: the CA refused the request: rejection"));
  ASSERT_TRUE(WaitOutcome("permission_denied"));
  auto next = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::kPermissionDenied)
      << "the worker delivers per policy at once: " << next.error().ToString();
  EXPECT_EQ(ca_->calls(), 1) << "answered from memory, the CA is not asked again";
  EXPECT_TRUE(ks_->ListCertificates("bob@example.com", "own")->empty());
}

TEST_F(BackgroundIssuanceTest, ACaFailureIsRetriedAfterRetryAfter) {
  issuance_.answer_within = 0ms;
  issuance_.retry_after = 30s;
  Open();
  ca_->Open(MakeError(ErrorCode::kUnavailable, "CMP ir: no valid answer from the CA"));
  EXPECT_FALSE(ks_->GetSigningIdentity("bob@example.com").ok());
  ASSERT_TRUE(WaitOutcome("unavailable"));
  auto next = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(ca_->calls(), 1);
  clock_.Advance(30s);
  ca_->Open();  // the CA is back
  EXPECT_FALSE(ks_->GetSigningIdentity("bob@example.com").ok());
  ASSERT_TRUE(WaitIssued());
  EXPECT_EQ(ca_->calls(), 2);
  EXPECT_TRUE(ks_->GetSigningIdentity("bob@example.com").ok());
}

TEST_F(BackgroundIssuanceTest, ShutdownDoesNotWaitForTheCa) {
  issuance_.answer_within = 0ms;
  Open();
  EXPECT_FALSE(ks_->GetSigningIdentity("bob@example.com").ok());
  ASSERT_TRUE(ca_->WaitCalls(1));
  auto start = std::chrono::steady_clock::now();
  ks_->Shutdown();  // the CA never answers unless cancelled
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(ca_->cancelled());
  auto after = ks_->GetSigningIdentity("bob@example.com");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  ks_.reset();
}

// A TCP server on loopback that accepts every connection and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        {
          std::lock_guard<std::mutex> lock(mu_);
          accepted_.push_back(c);
        }
        // Read the start of the request: the client is then past its
        // connection callback and waits for an answer that never comes.
        std::array<char, 512> buf{};
        if (::recv(c, buf.data(), buf.size(), 0) > 0) ++requests_;
      }
    });
  }
  ~SilentServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
    for (int c : accepted_) ::close(c);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/pkix/"; }
  size_t accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_.size();
  }
  // Connections whose request bytes arrived.
  int requests() const { return requests_; }
  bool WaitRequest() {
    for (int i = 0; i < 1000 && requests_ == 0; ++i) std::this_thread::sleep_for(10ms);
    return requests_ > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> accepted_;
  std::atomic<int> requests_{0};
};

// The case of the issue: a CMP CA that accepts the connection and stays
// silent held the caller for message_timeout / total_timeout (here 30 s /
// 60 s). Now the caller gets `unavailable` within answer_within, and the
// keyservice stops without waiting for the CA.
TEST(SilentCmpCaTest, TheCallerIsNotHeldAndShutdownCancelsTheExchange) {
  testing::TempDir dir;
  testing::CmpTestPki pki(dir.path(), std::chrono::system_clock::now());
  testing::DnsTestServer dns(dir.path() / "dns");
  ASSERT_TRUE(dns.ok());
  SilentServer ca;
  auto config = testing::TestConfig(dir.path() / "ks");
  config.ca.backend = "cmp";
  config.ca.cmp = pki.Config(ca.url(), "mac");
  config.ca.cmp.message_timeout = 30s;
  config.ca.cmp.total_timeout = 60s;
  config.dns = dns.Options();
  config.issuance.answer_within = 200ms;
  metrics::Registry registry;
  FakeClock clock(std::chrono::system_clock::now());
  auto ks = KeyServiceImpl::Open(config, {"example.com"}, registry, clock, DefaultCaFactory());
  ASSERT_TRUE(ks.ok()) << ks.error().ToString();
  ASSERT_TRUE(testing::ValidateDomainForTest(**ks, dns, clock, "example.com").ok());
  ASSERT_TRUE((*ks)->PutUsers({User{"bob@example.com", true, ""}}).ok());

  auto start = std::chrono::steady_clock::now();
  auto bob = (*ks)->GetSigningIdentity("bob@example.com");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "held for the CA's timeouts";
  ASSERT_FALSE(bob.ok());
  EXPECT_EQ(bob.error().code, ErrorCode::kUnavailable) << bob.error().ToString();
  ASSERT_TRUE(ca.WaitRequest()) << "the request went out in the background";
  ASSERT_EQ(ca.accepted(), 1u);

  start = std::chrono::steady_clock::now();
  (*ks)->Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "stopping waited for the silent CA";
  auto& outcomes = registry.AddCounter("smimegate_keyservice_issuance_outcomes_total", "", {"result"});
  EXPECT_EQ(outcomes.WithLabels({"unavailable"}).Value(), 1);
}

TEST(SilentCmpCaTest, CancelEndsAnExchangeInProgressAndRefusesNewOnes) {
  testing::TempDir dir;
  testing::CmpTestPki pki(dir.path(), std::chrono::system_clock::now());
  SilentServer server;
  auto config = pki.Config(server.url(), "mac");
  config.message_timeout = 30s;
  config.total_timeout = 60s;
  auto ca = CmpCa::Open(config);
  ASSERT_TRUE(ca.ok()) << ca.error().ToString();
  auto key = GenerateKey(KeyType::kEcdsaP256);
  ASSERT_TRUE(key.ok());
  auto pub = PublicKeyDer(key->get());
  ASSERT_TRUE(pub.ok());
  IssueRequest request{"bob@example.com", *pub, std::chrono::system_clock::now(), key->get()};
  auto exchange = std::async(std::launch::async, [&] { return (*ca)->Issue(request); });
  ASSERT_TRUE(server.WaitRequest()) << "the request was sent and waits for an answer";
  ASSERT_EQ(server.accepted(), 1u);
  auto start = std::chrono::steady_clock::now();
  (*ca)->CancelExchanges();
  ASSERT_EQ(exchange.wait_for(5s), std::future_status::ready) << "the exchange was not cancelled";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto issued = exchange.get();
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, ErrorCode::kUnavailable) << issued.error().ToString();
  auto later = (*ca)->Issue(request);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(server.accepted(), 1u) << "nothing sent after the cancel";
}

}  // namespace
}  // namespace sg::keyservice
